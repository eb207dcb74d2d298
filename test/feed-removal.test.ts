/**
 * Removing a feed's file while readers stream it: each of its streams (SSE, comet, WebSocket) is
 * ended with FEED_REMOVED and its last seq, as shutdown ends them, while other feeds' streams go on.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { entryXml, postAtom, startTestServer, type TestServer } from './support/server.js';
import { consumers, eventually, StreamClient } from './support/streams.js';

const SSE = { Accept: 'text/event-stream' };

describe('removing a feed file', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ gone: {}, stays: {} });
  });
  after(() => server.close());

  async function publish(feed: string, title: string): Promise<number> {
    return Number((await postAtom(server.feedUrl(feed), entryXml(title))).headers.get('xlastid'));
  }

  test('ends its SSE, comet and WebSocket streams with FEED_REMOVED and their last seq; other feeds stream on', { timeout: 20_000 }, async () => {
    const sse = await StreamClient.open(server.feedUrl('gone'), { headers: SSE });
    const comet = await StreamClient.open(`${server.url}/c/gone`, { parse: 'lines' });
    const other = await StreamClient.open(server.feedUrl('stays'), { headers: SSE });
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/feeds/gone/ws?format=json`);
    const wsSeqs: number[] = [];
    ws.on('message', (d) => wsSeqs.push((JSON.parse(d.toString()) as { seq: number }).seq));
    const wsClosed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    await eventually(async () => (await consumers(server.url)) === 4, 'four streams');

    const seq = await publish('gone', 'last one');
    await eventually(() => sse.seqs().length === 1 && comet.seqs().length === 1 && wsSeqs.length === 1, 'every stream to get it');
    rmSync(join(server.feedsDir, 'gone.json'));
    await Promise.all([sse.closed, comet.closed]);

    assert.ok(sse.ended && comet.ended, 'each response ended with its last chunk, not cut');
    const closing = sse.events.at(-1);
    assert.equal(closing?.event, 'closing');
    const why = JSON.parse(closing?.data ?? '{}') as { code: string; lastid: number };
    assert.deepEqual([why.code, why.lastid], ['FEED_REMOVED', seq]);
    const last = JSON.parse(comet.lines.at(-1) ?? '{}') as { closing?: { code: string; lastid: number } };
    assert.deepEqual([last.closing?.code, last.closing?.lastid], ['FEED_REMOVED', seq]);
    const { code, reason } = await wsClosed;
    assert.equal(code, 1001);
    assert.match(reason, new RegExp(`^FEED_REMOVED: lastid=${seq};`));

    assert.equal(await consumers(server.url), 1, 'only the other feed\'s stream is left');
    const live = await publish('stays', 'still streaming');
    await other.waitFor(() => other.seqs().includes(live), 'the other feed\'s stream to get a new message');
    assert.equal(other.ended, false);
    other.destroy();
  });
});
