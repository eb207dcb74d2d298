/**
 * Entries so large that `pageSize` of them would make a page of many MiB: pages are bounded in size
 * (fewer entries, a next link after the last one, every entry reached once, one entry at least),
 * and a stream whose reader stops reading makes the server read its backlog no faster than it reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { validateFeed } from './support/atom-validator.js';
import { entryXml, postAtom, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { consumers, eventually, publishMany, StreamClient } from './support/streams.js';

const SSE = { Accept: 'text/event-stream' };

/** Seqs of a page, in document order, from its Atom or JSON. */
function seqsOf(body: string, format: 'atom' | 'json'): number[] {
  if (format === 'json') return (JSON.parse(body) as JsonPage).entries.map((e) => e.seq);
  return [...body.matchAll(/<am:seq>(\d+)<\/am:seq>/g)].map((m) => Number(m[1]));
}

/** One page: its status, seqs, the Link header's next URL and the Xlastid header. */
async function getPage(url: string, format: 'atom' | 'json', headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const body = await res.text();
  if (format === 'atom') assert.deepEqual(validateFeed(body), [], 'a streamed page is one well-formed feed');
  return {
    status: res.status,
    seqs: seqsOf(body, format),
    next: /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '')?.[1],
    bodyNext: format === 'json' ? (JSON.parse(body) as JsonPage).next ?? undefined : undefined,
    xlastid: Number(res.headers.get('xlastid')),
  };
}

/** Follows next links from `first` to the last page; the seqs of each page. */
async function followNext(first: string, format: 'atom' | 'json'): Promise<number[][]> {
  const pages: number[][] = [];
  for (let url: string | undefined = first; url !== undefined;) {
    const page = await getPage(url, format);
    assert.equal(page.status, 200);
    if (format === 'json') assert.equal(page.bodyNext, page.next, 'the JSON next is the Link header');
    pages.push(page.seqs);
    url = page.next;
  }
  return pages;
}

describe('pages of large entries', () => {
  /** The page size in characters: three of the medium entries fit, four do not. */
  const PAGE_BYTES = 100_000;
  let server: TestServer;
  let url: string;
  const seqs: number[] = [];
  let hugeSeq: number;
  before(async () => {
    server = await startTestServer({ big: {} }, { pageBytes: String(PAGE_BYTES) });
    url = server.feedUrl('big');
    for (let i = 0; i < 13; i++) {
      // Entry 6 alone is larger than a page.
      const res = await postAtom(url, entryXml(`m${i}`, (i === 6 ? 'y' : 'x').repeat(i === 6 ? 150_000 : 30_000)));
      assert.equal(res.status, 201);
      seqs.push(Number(res.headers.get('xlastid')));
    }
    hugeSeq = seqs[6] as number;
  });
  after(() => server.close());

  /** Pages as a reader gets them: every entry once, in order; several pages; the huge entry alone. */
  function assertPaged(pages: number[][], expected: number[]): void {
    assert.deepEqual(pages.flat(), expected, 'every entry exactly once, in order');
    assert.ok(pages.length >= 5, `a count-only page would hold all 13 entries; got pages of ${pages.map((p) => p.length)}`);
    assert.ok(pages.every((p) => p.length >= 1 && p.length <= 3), `pages of ${pages.map((p) => p.length)}`);
    assert.ok(pages.some((p) => p.length === 1 && p[0] === hugeSeq), 'the entry larger than a page has a page of its own');
  }

  test('cursor view, Atom: pages stop at the size budget; following Xlastid reaches every entry once', async () => {
    const pages: number[][] = [];
    let cursor = 0;
    for (;;) {
      const page = await getPage(url, 'atom', { Xlastid: String(cursor) });
      assert.equal(page.status, 200);
      if (page.seqs.length === 0) break;
      assert.equal(page.xlastid, page.seqs.at(-1), 'Xlastid is the last entry actually on the page');
      if (page.next) assert.equal(page.next, `${url}?lastid=${page.xlastid}`);
      else assert.equal(page.seqs.at(-1), seqs.at(-1), 'only the last page has no next link');
      pages.push(page.seqs);
      cursor = page.xlastid;
    }
    assertPaged(pages, seqs);
  });

  test('cursor view, JSON: following next reaches every entry once', async () => {
    assertPaged(await followNext(`${url}?lastid=0&format=json`, 'json'), seqs);
  });

  test('collection view, Atom and JSON: newest first, following next reaches every entry once', async () => {
    assertPaged(await followNext(url, 'atom'), [...seqs].reverse());
    assertPaged(await followNext(`${url}?format=json`, 'json'), [...seqs].reverse());
  });

  test('a page cut by size keeps its ETag: If-None-Match gets 304 until the feed changes', async () => {
    const first = await fetch(`${url}?lastid=0`);
    await first.arrayBuffer();
    const etag = first.headers.get('etag') as string;
    const again = await fetch(`${url}?lastid=0`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });
});

/** A stream reader that can stop reading, for each transport, reading from seq 0. */
interface Reader {
  resume(): void;
  seqs(): number[];
  close(): void;
}

async function pausedReader(transport: 'sse' | 'comet' | 'ws', server: TestServer, feed: string): Promise<Reader> {
  if (transport === 'ws') {
    const ws = new WebSocket(`${server.feedUrl(feed).replace(/^http/, 'ws')}/ws?lastid=0&format=json`);
    const seqs: number[] = [];
    ws.on('message', (data) => seqs.push((JSON.parse(data.toString()) as { seq: number }).seq));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        ws.pause();
        resolve();
      });
      ws.once('error', reject);
    });
    return { resume: () => ws.resume(), seqs: () => seqs, close: () => ws.terminate() };
  }
  const client = transport === 'sse'
    ? await StreamClient.open(`${server.feedUrl(feed)}?lastid=0`, { headers: SSE })
    : await StreamClient.open(`${server.url}/c/${feed}?lastid=0`, { parse: 'lines' });
  client.pause();
  return { resume: () => client.resume(), seqs: () => client.seqs(), close: () => client.destroy() };
}

describe('streams of large entries', () => {
  /** 128 KiB entries: the backlog is 15 MiB, far more than the sockets between server and reader hold. */
  const ENTRY = 'z'.repeat(128 * 1024);
  const BACKLOG = 120;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ sse: {}, comet: {}, ws: {}, live: {} }, {
      pageBytes: String(512 * 1024), streamBufferBytes: String(1024 * 1024), durability: 'lose-on-power-failure',
    });
  });
  after(() => server.close());

  for (const transport of ['sse', 'comet', 'ws'] as const) {
    test(`${transport}: a backlog reader that stops reading makes the server read no further than it reads`, { timeout: 60_000 }, async () => {
      const url = server.feedUrl(transport);
      const locations: string[] = [];
      const backlog: number[] = [];
      for (let i = 0; i < BACKLOG; i++) {
        const res = await postAtom(url, entryXml(`b${i}`, ENTRY));
        locations.push(res.headers.get('location') as string);
        backlog.push(Number(res.headers.get('xlastid')));
      }
      const reader = await pausedReader(transport, server, transport);
      // Deleting an entry removes it from the store (its tombstone comes at a new seq). An entry the
      // stream had read before is still delivered; one it had not read yet never is.
      const tombstones: number[] = [];
      for (const location of locations) {
        const res = await fetch(location, { method: 'DELETE' });
        assert.equal(res.status, 204);
        tombstones.push(Number(res.headers.get('xlastid')));
      }
      reader.resume();
      await eventually(() => reader.seqs().at(-1) === tombstones.at(-1), 'every tombstone', 30_000);
      const got = reader.seqs();
      const read = got.length - tombstones.length;
      reader.close();
      assert.deepEqual(got, [...backlog.slice(0, read), ...tombstones], 'what was read before the deletes, then every tombstone');
      assert.ok(read < BACKLOG / 2, `the server read ${read} of ${BACKLOG} backlog entries for a reader that read none`);
    });
  }

  test('a live reader that falls streamBufferBytes behind is disconnected, though under streamBuffer messages', { timeout: 60_000 }, async () => {
    const url = server.feedUrl('live');
    const reader = await StreamClient.open(url, { headers: SSE });
    reader.pause();
    const seqs = await publishMany(url, 60, 4, 'live-', ENTRY);
    await eventually(async () => (await consumers(server.url)) === 0, 'the slow reader to be dropped');
    reader.resume();
    await reader.closed;
    const closing = reader.events.at(-1);
    assert.equal(closing?.event, 'closing');
    const reason = JSON.parse(closing?.data ?? '{}') as { code: string; lastid: number };
    assert.equal(reason.code, 'SLOW_CONSUMER');
    const got = reader.seqs();
    assert.deepEqual(got, seqs.slice(0, got.length));
    assert.equal(reason.lastid, got.at(-1));
  });
});
