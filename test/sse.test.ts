/**
 * Server-sent events on the feed URL, over real sockets: with the `eventsource` package (what a
 * Node program would use, and a browser's EventSource algorithm, reconnection included) and with a
 * raw-socket client where a test must control the connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { validateEntry } from './support/atom-validator.js';
import {
  entryXml, postAtom, problemOf, ProcessScope, spawnServer, startTestServer, type TestServer,
} from './support/server.js';
import { eachStore } from './support/postgres.js';
import { consumers, describeSeqs, eventually, publishingUnderWay, publishMany, StreamClient } from './support/streams.js';

const SSE = { Accept: 'text/event-stream' };

/** An EventSource and what it received. */
function listen(url: string): { es: EventSource; ids: number[]; closings: string[]; opens: number } {
  const es = new EventSource(url);
  const got = { es, ids: [] as number[], closings: [] as string[], opens: 0 };
  es.onmessage = (event) => got.ids.push(Number(event.lastEventId));
  es.addEventListener('closing', (event) => got.closings.push(event.data));
  es.onopen = () => { got.opens++; };
  return got;
}

eachStore('server-sent events', (kind) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { seam: {}, news: {}, resume: {}, slow: {}, jobs: { delivery: 'roundrobin' } },
      { heartbeat: '0.2', streamBuffer: '8' },
      kind,
    );
  });
  after(() => server.close());

  test('an EventSource at cursor 0 gets every message once, in seq order, backlog and live, while publishers publish', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('seam');
    const { backlog, during, finished } = await publishingUnderWay(url);
    const reader = listen(`${url}?lastid=0&format=json`);
    await eventually(() => reader.opens > 0, 'the stream to open');
    const openedWhilePublishing = !finished();
    const expected = [...backlog, ...await during];
    await eventually(() => reader.ids.length >= expected.length, `${expected.length} events`);
    await new Promise((r) => setTimeout(r, 100));
    reader.es.close();
    assert.ok(openedWhilePublishing, 'the reader connected while messages were still being published');
    assert.deepEqual(reader.ids, expected, describeSeqs(reader.ids, expected));
  });

  test('events: id is the seq, data the entry as valid Atom with xml:base (JSON with ?format=json); multi-line data; heartbeats', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('news');
    const res = await postAtom(url, `<entry xmlns="http://www.w3.org/2005/Atom"><title>two\nlines</title><content type="text">a\nb\r\nc</content></entry>`);
    const seq = Number(res.headers.get('xlastid'));

    const atom = await StreamClient.open(`${url}?lastid=${seq - 1}`, { headers: SSE });
    assert.equal(atom.status, 200);
    assert.match(atom.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(atom.headers['cache-control'], 'no-cache');
    await atom.waitFor(() => atom.events.length === 1 && atom.heartbeats >= 2, 'one event and two heartbeats');
    const event = atom.events[0];
    assert.equal(event?.id, String(seq));
    assert.equal(event?.event, 'message');
    assert.deepEqual(validateEntry(event?.data ?? ''), []);
    assert.match(event?.data ?? '', /^<entry [^>]*xml:base="http:\/\/127\.0\.0\.1:\d+\/"/);
    assert.match(event?.data ?? '', /<am:seq>\d+<\/am:seq><\/entry>$/);
    assert.match(event?.data ?? '', /a\nb\nc/, 'line breaks survive as data lines');
    assert.deepEqual(atom.retries, [2000]);
    atom.destroy();

    const json = await StreamClient.open(`${url}?format=json`, { headers: { ...SSE, Xlastid: String(seq - 1) } });
    await json.waitFor(() => json.events.length === 1, 'one event');
    const entry = JSON.parse(json.events[0]?.data ?? '') as { seq: number; title: string; content: string };
    assert.deepEqual([entry.seq, entry.title, entry.content], [seq, 'two\nlines', 'a\nb\nc']);
    json.destroy();
  });

  test('without a cursor only new messages come; a deletion comes as its tombstone', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('news');
    await postAtom(url, entryXml('old'));
    const reader = await StreamClient.open(url, { headers: SSE });
    const created = await postAtom(url, entryXml('new'));
    const seq = Number(created.headers.get('xlastid'));
    const removed = await fetch(created.headers.get('location') as string, { method: 'DELETE' });
    assert.equal(removed.status, 204);
    await reader.waitFor(() => reader.events.length === 2, 'two events');
    assert.equal(reader.events[0]?.id, String(seq));
    assert.match(reader.events[1]?.data ?? '', /^<at:deleted-entry /);
    assert.ok(Number(reader.events[1]?.id) > seq);
    reader.destroy();
  });

  test('a reader that reconnects with Last-Event-ID misses nothing and repeats nothing', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('resume');
    const first = await publishMany(url, 20);
    const a = await StreamClient.open(`${url}?lastid=0`, { headers: SSE });
    await a.waitFor(() => a.events.length === 20, '20 events');
    a.destroy();
    const gap = await publishMany(url, 15);
    // lastid=0 in the URL, as a browser keeps it: Last-Event-ID wins.
    const b = await StreamClient.open(`${url}?lastid=0`, { headers: { ...SSE, 'Last-Event-ID': String(first.at(-1)) } });
    const live = await publishMany(url, 5);
    await b.waitFor(() => b.events.length === 20, '20 events');
    assert.deepEqual(b.seqs(), [...gap, ...live]);
    b.destroy();
  });

  test('a slow reader is disconnected with a reason naming its last seq, and resumes from it', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('slow');
    const reader = await StreamClient.open(url, { headers: SSE });
    reader.pause();
    // About 10 MB: more than the kernel's socket buffers take, so the stream's own buffer (8) fills.
    const big = 'x'.repeat(256 * 1024);
    const seqs = await publishMany(url, 40, 4, 'big-', big);
    await eventually(async () => (await consumers(server.url)) === 0, 'the slow reader to be dropped');
    reader.resume();
    await reader.closed;
    assert.ok(reader.ended, 'the response was ended cleanly, not cut');
    const closing = reader.events.at(-1);
    assert.equal(closing?.event, 'closing');
    const reason = JSON.parse(closing?.data ?? '{}') as { code: string; detail: string; lastid: number };
    assert.equal(reason.code, 'SLOW_CONSUMER');
    assert.match(reason.detail, /behind/);
    const got = reader.seqs();
    assert.ok(got.length < seqs.length, `it fell behind (${got.length} of ${seqs.length})`);
    assert.deepEqual(got, seqs.slice(0, got.length));
    assert.equal(reason.lastid, got.at(-1));

    const again = await StreamClient.open(url, { headers: { ...SSE, 'Last-Event-ID': String(reason.lastid) } });
    await again.waitFor(() => again.events.length === seqs.length - got.length, 'the rest');
    assert.deepEqual([...got, ...again.seqs()], seqs);
    again.destroy();
  });

  test('errors are problem documents before the stream starts', { timeout: 20_000 }, async () => {
    const unknown = await fetch(`${server.url}/feeds/nope`, { headers: SSE });
    assert.equal(unknown.status, 404);
    assert.equal((await problemOf(unknown)).code, 'FEED_NOT_FOUND');
    const bad = await fetch(server.feedUrl('news'), { headers: { ...SSE, 'Last-Event-ID': 'yesterday' } });
    assert.equal(bad.status, 400);
    assert.equal((await problemOf(bad)).code, 'INVALID_CURSOR');
    // A round-robin feed's streams are live only: an explicit cursor is refused...
    const rr = await fetch(`${server.feedUrl('jobs')}?lastid=0`, { headers: SSE });
    assert.equal(rr.status, 400);
    assert.match((await problemOf(rr)).detail, /round-robin/);
    // ...but the Last-Event-ID a reconnecting EventSource sends is ignored, whatever it holds.
    for (const lastEventId of ['3', 'yesterday']) {
      const reconnect = await StreamClient.open(server.feedUrl('jobs'), { headers: { ...SSE, 'Last-Event-ID': lastEventId } });
      assert.equal(reconnect.status, 200, `Last-Event-ID: ${lastEventId}`);
      reconnect.destroy();
    }
    await eventually(async () => (await consumers(server.url)) === 0, 'every stream to be gone');
  });
});

describe('server-sent events across a server restart', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('an EventSource reconnects by itself after a restart and resumes after its last event', { timeout: 30_000 }, async () => {
    const args = await scope.serverArgs('atommq-sse-restart-', { news: {} });
    const first = scope.track(await spawnServer(args));
    const url = `${first.url}/feeds/news`;
    const before = await publishMany(url, 5);
    const reader = listen(`${url}?lastid=0`);
    await eventually(() => reader.ids.length === 5, 'the first 5 events');

    first.process.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.equal(reader.closings.length, 1, 'told why the stream ended');
    const closing = JSON.parse(reader.closings[0] ?? '{}') as { code: string; lastid: number };
    assert.deepEqual([closing.code, closing.lastid], ['SHUTTING_DOWN', before.at(-1)]);

    const second = scope.track(await spawnServer(args));
    const afterRestart = await publishMany(`${second.url}/feeds/news`, 5);
    await eventually(() => reader.ids.length === 10, 'the next 5 events', 15_000);
    assert.ok(reader.opens >= 2, 'the EventSource reconnected');
    assert.deepEqual(reader.ids, [...before, ...afterRestart]);
    reader.es.close();
  });
});
