/**
 * WebSocket consumers with the `ws` client over real sockets: the same "backlog, then live"
 * stream as server-sent events, refusals answered over HTTP before the upgrade, ping/pong, and slow
 * consumers closed with a code and their last seq.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket, type ClientOptions } from 'ws';
import { validateEntry } from './support/atom-validator.js';
import { entryXml, postAtom, startTestServer, type TestServer } from './support/server.js';
import { consumers, describeSeqs, eventually, publishingUnderWay, publishMany } from './support/streams.js';

interface Socket {
  ws: WebSocket;
  messages: string[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
}

function seqOf(message: string): number {
  const json = /^\{"seq":(\d+)/.exec(message);
  return Number(json?.[1] ?? /<am:seq>(\d+)<\/am:seq>/.exec(message)?.[1]);
}

/** Opens a socket; resolves once it is open (or rejects with the HTTP refusal). */
async function connect(url: string, options: ClientOptions = {}): Promise<Socket> {
  const ws = new WebSocket(url, options);
  const socket: Socket = {
    ws, messages: [], pings: 0,
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
  };
  ws.on('message', (data) => socket.messages.push(data.toString()));
  ws.on('ping', () => { socket.pings++; });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return socket;
}

/** What the server answered instead of upgrading: status and problem document. */
function refusal(url: string, headers: Record<string, string> = {}): Promise<{ status: number; problem: { code: string; detail: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('upgraded')));
    ws.once('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, problem: JSON.parse(body) as { code: string; detail: string } }));
    });
  });
}

describe('WebSocket', () => {
  let server: TestServer;
  let ws: string;
  before(async () => {
    server = await startTestServer(
      { seam: {}, news: {}, jobs: { delivery: 'roundrobin' } },
      { heartbeat: '0.2', streamBuffer: '8' },
    );
    ws = server.url.replace(/^http/, 'ws');
  });
  after(() => server.close());

  test('a reader at lastid=0 gets every message once, in seq order, backlog and live, while publishers publish', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('seam');
    const { backlog, during, finished } = await publishingUnderWay(url);
    const reader = await connect(`${ws}/feeds/seam/ws?lastid=0&format=json`);
    const openedWhilePublishing = !finished();
    const expected = [...backlog, ...await during];
    await eventually(() => reader.messages.length >= expected.length, `${expected.length} messages`);
    await new Promise((r) => setTimeout(r, 100));
    const got = reader.messages.map(seqOf);
    reader.ws.close();
    assert.ok(openedWhilePublishing, 'the reader connected while messages were still being published');
    assert.deepEqual(got, expected, describeSeqs(got, expected));
  });

  test('the feed URL itself upgrades too; messages are Atom entries with xml:base by default; Xlastid works as a header', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('news');
    const seq = Number((await postAtom(url, entryXml('hello'))).headers.get('xlastid'));
    const reader = await connect(`${ws}/feeds/news`, { headers: { Xlastid: String(seq - 1) } });
    await eventually(() => reader.messages.length === 1, 'one message');
    const entry = reader.messages[0] ?? '';
    assert.deepEqual(validateEntry(entry), []);
    assert.match(entry, /^<entry [^>]*xml:base="http:\/\/127\.0\.0\.1:\d+\/"/);
    assert.equal(seqOf(entry), seq);
    const live = Number((await postAtom(url, entryXml('live'))).headers.get('xlastid'));
    await eventually(() => reader.messages.length === 2, 'the live message');
    assert.equal(seqOf(reader.messages[1] ?? ''), live);
    reader.ws.close(1000);
    assert.equal((await reader.closed).code, 1000);
    await eventually(async () => (await consumers(server.url)) === 0, 'the consumer to be unregistered');
  });

  test('refusals are HTTP problem documents, before the upgrade', { timeout: 20_000 }, async () => {
    const unknown = await refusal(`${ws}/feeds/nope/ws`);
    assert.deepEqual([unknown.status, unknown.problem.code], [404, 'FEED_NOT_FOUND']);
    const elsewhere = await refusal(`${ws}/healthz`);
    assert.deepEqual([elsewhere.status, elsewhere.problem.code], [404, 'NOT_FOUND']);
    const cursor = await refusal(`${ws}/feeds/news/ws?lastid=soon`);
    assert.deepEqual([cursor.status, cursor.problem.code], [400, 'INVALID_CURSOR']);
    const format = await refusal(`${ws}/feeds/news/ws?format=yaml`);
    assert.deepEqual([format.status, format.problem.code], [400, 'INVALID_PARAMETER']);
    const rr = await refusal(`${ws}/feeds/jobs/ws?lastid=0`);
    assert.deepEqual([rr.status, rr.problem.code], [400, 'INVALID_CURSOR']);
    assert.match(rr.problem.detail, /round-robin/);
    assert.equal(await consumers(server.url), 0, 'nothing stays registered');

    const plain = await fetch(`${server.url}/feeds/news/ws`);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get('upgrade'), 'websocket');
    assert.equal(((await plain.json()) as { code: string }).code, 'UPGRADE_REQUIRED');
  });

  test('the server pings; a peer that stops answering pongs is cut', { timeout: 20_000 }, async () => {
    const alive = await connect(`${ws}/feeds/news/ws`);
    const dead = await connect(`${ws}/feeds/news/ws`, { autoPong: false });
    await eventually(() => alive.pings >= 3, 'three pings');
    const cut = await dead.closed;
    assert.equal(cut.code, 1006, 'terminated without a close frame');
    assert.equal(alive.ws.readyState, WebSocket.OPEN, 'a peer that answers stays');
    alive.ws.close();
    await alive.closed;
  });

  test('a slow reader is closed with 1013 and its last seq, and resumes from it', { timeout: 20_000 }, async (t) => {
    // A reader that does not read cannot answer pings either: with pings every 0.2 s it would be
    // cut as dead before it could be found slow.
    const server = await startTestServer({ slow: {} }, { heartbeat: '60', streamBuffer: '8' });
    t.after(() => server.close());
    const ws = server.url.replace(/^http/, 'ws');
    const url = server.feedUrl('slow');
    const reader = await connect(`${ws}/feeds/slow/ws?format=json`);
    reader.ws.pause();
    const big = 'x'.repeat(256 * 1024);
    const seqs = await publishMany(url, 40, 4, 'big-', big);
    await eventually(async () => (await consumers(server.url)) === 0, 'the slow reader to be dropped');
    reader.ws.resume();
    const { code, reason } = await reader.closed;
    assert.equal(code, 1013);
    const lastid = Number(/lastid=(\d+)/.exec(reason)?.[1]);
    assert.match(reason, /^SLOW_CONSUMER: /);
    const got = reader.messages.map(seqOf);
    assert.ok(got.length < seqs.length, `it fell behind (${got.length} of ${seqs.length})`);
    assert.deepEqual(got, seqs.slice(0, got.length));
    assert.equal(lastid, got.at(-1));

    const again = await connect(`${ws}/feeds/slow/ws?format=json&lastid=${lastid}`);
    await eventually(() => again.messages.length === seqs.length - got.length, 'the rest');
    assert.deepEqual([...got, ...again.messages.map(seqOf)], seqs);
    again.ws.close();
  });
});
