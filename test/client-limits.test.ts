import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { handshake } from './support/access.js';
import { ATOM, startTestServer, type TestServer } from './support/server.js';
import { eventually } from './support/streams.js';

/** Another loopback address than the tests' 127.0.0.1: another client to the server. */
const OTHER_CLIENT = '127.0.0.2';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own, from `localAddress`; a stream's answer is its head alone. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress }, (res) => {
      if (res.statusCode === 200 && String(res.headers['content-type']).match(/event-stream|ndjson/)) {
        resolve({ status: 200, headers: res.headers, body: '' });
        return;
      }
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A connection that has been served once and stays open (keep-alive). */
async function heldConnection(server: TestServer): Promise<Socket> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

function assertTooMany(answer: Answer): void {
  assert.equal(answer.status, 429, answer.body);
  assert.ok(Number(answer.headers['retry-after']) > 0, 'Retry-After');
  assert.equal((JSON.parse(answer.body) as { code: string }).code, 'TOO_MANY_REQUESTS');
}

describe('per-client limits', () => {
  let server: TestServer;
  const held: Socket[] = [];
  before(async () => {
    server = await startTestServer({ orders: { groups: { g: {} } } }, { maxConnectionsPerClient: '3', maxStreamsPerClient: '2', bodyLimit: '2048' });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await server.close();
  });

  it('a client over its connection cap gets 429 with Retry-After, and another client is still served', async () => {
    held.push(await heldConnection(server), await heldConnection(server));
    assert.equal((await send(`${server.url}/healthz`)).status, 200, 'the third connection is within the cap');
    held.push(await heldConnection(server));
    assertTooMany(await send(`${server.url}/healthz`));
    assertTooMany(await handshake(`${server.url}/feeds/orders/ws`).then((a) => ({ ...a, body: '{"code":"TOO_MANY_REQUESTS"}', headers: a.headers as IncomingHttpHeaders })));
    assert.equal((await send(`${server.url}/healthz`, { localAddress: OTHER_CLIENT })).status, 200);
    held.pop()?.destroy();
    await eventually(async () => (await send(`${server.url}/healthz`)).status === 200, 'a closed connection frees its slot');
  });

  it('counts a connection that asked for h2c once, though it comes back as a new connection', async () => {
    for (const socket of held.splice(0)) socket.destroy();
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    held.push(socket, await heldConnection(server));
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
    const head = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString('latin1'))));
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.equal((await send(`${server.url}/healthz`)).status, 200, 'two connections held, the third is within the cap');
  });

  it('a client over its stream cap gets 429 on every kind of stream, and another client is still served', async () => {
    for (const socket of held.splice(0)) socket.destroy();
    const sse = { headers: { Accept: 'text/event-stream' } };
    const streams = await Promise.all([send(server.feedUrl('orders'), sse), send(`${server.url}/c/orders`)]);
    assert.deepEqual(streams.map((a) => a.status), [200, 200]);
    assertTooMany(await send(server.feedUrl('orders'), sse));
    assertTooMany(await send(`${server.url}/c/orders`));
    assert.equal((await handshake(`${server.url}/feeds/orders/ws`)).status, 429);
    assert.equal((await send(server.feedUrl('orders'), { ...sse, localAddress: OTHER_CLIENT })).status, 200);
    assert.equal((await send(`${server.feedUrl('orders')}?format=json`)).status, 200, 'plain reads are not streams');
  });

  it('the body limit holds for every route that takes a body', async () => {
    const big = Buffer.alloc(4096, 'a');
    const group = '/feeds/orders/groups/g';
    for (const [method, path] of [['POST', '/feeds/orders'], ['PUT', '/feeds/orders/entries/x'], ['PUT', group],
      ['POST', `${group}/acks`], ['POST', `${group}/nacks`], ['POST', `${group}/extensions`], ['POST', `${group}/dead/requeue`]] as const) {
      const answer = await send(`${server.url}${path}`, { method, headers: { 'Content-Type': path.includes('groups') ? 'application/json' : ATOM }, body: big, localAddress: OTHER_CLIENT });
      assert.equal(answer.status, 413, `${method} ${path}`);
    }
  });
});
