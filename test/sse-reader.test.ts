/**
 * The client's event-stream reader, in process: events split across chunks at every byte, the
 * three line endings, comments (heartbeats), multi-line data, named events and a leading BOM.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readEvents, type SseEvent } from '../src/client/index.js';

async function parse(chunks: Array<string | Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readEvents((async function* source() { yield* chunks; })())) events.push(event);
  return events;
}

const STREAM = '\uFEFFretry: 2000\n\n: keep-alive\n\nid: 1\ndata: {"seq":1}\n\nid: 2\ndata: line one\ndata: line two\n\n' +
  'event: closing\ndata: {"code":"SHUTTING_DOWN","lastid":2}\n\nid: 3\ndata: unterminated';

describe('readEvents', () => {
  test('dispatches on blank lines, joins data lines, keeps the last id, skips comments and the unterminated tail', async () => {
    const events = await parse([STREAM]);
    assert.deepEqual(events.map((e) => [e.event, e.id, e.data]), [
      ['message', '1', '{"seq":1}'],
      ['message', '2', 'line one\nline two'],
      ['closing', '2', '{"code":"SHUTTING_DOWN","lastid":2}'],
    ]);
    assert.equal(events[0]?.retry, 2000);
  });

  test('the same events whatever the chunking and line endings, multi-byte characters split included', async () => {
    const expected = await parse([STREAM]);
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = STREAM.replace(/\n/g, eol).replace('line one', 'línea ☃');
      const bytes = new TextEncoder().encode(text);
      const want = expected.map((e) => ({ ...e, data: e.data.replace('line one', 'línea ☃') }));
      for (const size of [1, 2, 3, 7, bytes.length]) {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        assert.deepEqual(await parse(chunks), want, `eol ${JSON.stringify(eol)}, chunks of ${size}`);
      }
    }
  });
});
