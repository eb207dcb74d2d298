/**
 * Every body AtomMQ sends whole ends with a newline, so `curl URL` leaves the shell's prompt on a
 * line of its own; stream framing (SSE, comet) is unchanged by that.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { entryXml, postAtom, startTestServer, type TestServer } from './support/server.js';

/** Sends raw bytes and resolves with the whole answer, for what Express never sees. */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
  });
}

describe('bodies end with a newline', () => {
  let server: TestServer;
  let feed: string;
  let member: string;
  before(async () => {
    server = await startTestServer({ orders: {} });
    feed = server.feedUrl('orders');
    const res = await postAtom(feed, entryXml('first'));
    member = res.headers.get('location') as string;
    await res.text();
  });
  after(() => server.close());

  const cases: Array<[string, () => Promise<Response>, string]> = [
    ['the service document', () => fetch(`${server.url}/`), 'application/atomsvc+xml'],
    ['a feed (collection view)', () => fetch(feed), 'application/atom+xml'],
    ['a feed (cursor view, JSON)', () => fetch(`${feed}?format=json`, { headers: { Xlastid: '0' } }), 'application/json'],
    ['an entry', () => fetch(member), 'application/atom+xml'],
    ['a published entry (Atom)', () => postAtom(feed, entryXml('second')), 'application/atom+xml'],
    ['a published entry (JSON)', () => fetch(feed, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"title":"third"}' }), 'application/json'],
    ['/healthz', () => fetch(`${server.url}/healthz`), 'application/json'],
    ['a problem', () => fetch(server.feedUrl('nothing')), 'application/problem+json'],
  ];
  for (const [what, request, type] of cases) {
    test(what, async () => {
      const res = await request();
      assert.ok(res.headers.get('content-type')?.startsWith(type), `${res.status} ${res.headers.get('content-type')}`);
      const body = await res.text();
      assert.ok(body.endsWith('\n') && !body.endsWith('\n\n'), JSON.stringify(body.slice(-40)));
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body), 'Content-Length counts the newline');
    });
  }

  test('a problem written on the raw socket: a refused WebSocket upgrade, a request Node cannot parse', async () => {
    const host = new URL(server.url).host;
    const refused = await raw(server.url, `GET /feeds/nothing/ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
      + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const garbled = await raw(server.url, 'GET / HTTP/1.1\r\nHost\r\n\r\n');
    for (const answer of [refused, garbled]) {
      assert.match(answer, /^HTTP\/1\.1 4\d\d /);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.ok(body.endsWith('}\n'), JSON.stringify(body));
      assert.match(head, new RegExp(`content-length: ${Buffer.byteLength(body)}\\r?$`, 'im'));
    }
    assert.match(refused, /^x-request-id: \S+\r$/im, 'a refused upgrade names its request id, as every answer does');
  });

  test('SSE and comet frames are unchanged: one blank line ends an event, one newline a comet line', async () => {
    const sse = await fetch(`${feed}?lastid=0`, { headers: { Accept: 'text/event-stream' } });
    const comet = await fetch(`${server.url}/c/orders?lastid=0`);
    const first = async (res: Response, until: RegExp): Promise<string> => {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      while (!until.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      return text;
    };
    const events = await first(sse, /^id: \d+\n(data: .*\n)+\n/m);
    assert.match(events, /^retry: 2000\n\nid: \d+\n(data: [^\n]*\n)+\n/);
    assert.doesNotMatch(events, /\n\n\n/);
    const linesText = await first(comet, /\n/);
    assert.match(linesText, /^\{"seq":\d+,[^\n]*\}\n/);
  });
});
