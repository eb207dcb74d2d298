/**
 * Requests that carry an Upgrade header, over raw sockets so that the headers are exactly those
 * sent: an Upgrade the server does not support (`h2c`, which `curl --http2` sends) is ignored and
 * the request served as HTTP/1.1 (RFC 9110 7.8); a WebSocket handshake that is not valid is refused
 * with a problem document.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ATOM, entryXml, startTestServer, type TestServer } from './support/server.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 connection on which requests are sent one at a time, their answers read by Content-Length. */
class Connection {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      this.waiting?.();
    });
    socket.on('close', () => this.waiting?.());
  }

  static async open(serverUrl: string): Promise<Connection> {
    const url = new URL(serverUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Connection(socket);
  }

  async send(head: string[], body = ''): Promise<Answer> {
    this.socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    for (;;) {
      const answer = this.take();
      if (answer) return answer;
      if (this.socket.destroyed) throw new Error(`the connection closed; received ${this.buffered.toString()}`);
      await new Promise<void>((resolve) => { this.waiting = resolve; });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private take(): Answer | undefined {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buffered.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffered.length < end + 4 + length) return undefined;
    const body = this.buffered.subarray(end + 4, end + 4 + length).toString();
    this.buffered = this.buffered.subarray(end + 4 + length);
    return { status: Number(statusLine?.split(' ')[1]), headers, body };
  }
}

/** What `curl --http2` adds to an http:// request. */
const H2C = ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA'];
const WEBSOCKET = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];

describe('Upgrade headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ plain: {} });
  });
  after(() => server.close());

  test('Upgrade: h2c is ignored: GET /healthz, POST (sized and chunked) and GET of a feed are served, and the connection stays usable', { timeout: 20_000 }, async () => {
    const conn = await Connection.open(server.url);
    const host = `Host: ${new URL(server.url).host}`;
    const health = await conn.send(['GET /healthz HTTP/1.1', host, ...H2C]);
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');

    const entry = entryXml('over h2c');
    const sized = await conn.send(['POST /feeds/plain HTTP/1.1', host, ...H2C, `Content-Type: ${ATOM}`, `Content-Length: ${Buffer.byteLength(entry)}`], entry);
    assert.equal(sized.status, 201, sized.body);
    const chunk = entryXml('chunked over h2c');
    const chunked = await conn.send(['POST /feeds/plain HTTP/1.1', host, ...H2C, `Content-Type: ${ATOM}`, 'Transfer-Encoding: chunked'],
      `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
    assert.equal(chunked.status, 201, chunked.body);

    const feed = await conn.send(['GET /feeds/plain?format=json HTTP/1.1', host, ...H2C, 'Xlastid: 0']);
    assert.equal(feed.status, 200);
    const titles = (JSON.parse(feed.body) as { entries: Array<{ title: string }> }).entries.map((e) => e.title);
    assert.deepEqual(titles, ['over h2c', 'chunked over h2c']);
    assert.equal(feed.headers.upgrade, undefined, 'nothing was upgraded');

    const plain = await conn.send(['GET /healthz HTTP/1.1', host]);
    assert.equal(plain.status, 200, 'the same connection serves a plain request afterwards');
    conn.close();
  });

  test('a WebSocket handshake that is not a GET: 405 problem, Allow: GET', { timeout: 20_000 }, async () => {
    for (const path of ['/feeds/plain/ws', '/feeds/plain']) {
      const conn = await Connection.open(server.url);
      const answer = await conn.send([`POST ${path} HTTP/1.1`, 'Host: x', ...WEBSOCKET, 'Content-Length: 0']);
      conn.close();
      assert.equal(answer.status, 405, path);
      assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal(answer.headers.allow, 'GET');
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'METHOD_NOT_ALLOWED');
    }
  });

  test('a handshake ws refuses (unknown version, missing key): 400 problem', { timeout: 20_000 }, async () => {
    const handshakes = [
      WEBSOCKET.map((h) => h.replace('Version: 13', 'Version: 12')),
      WEBSOCKET.filter((h) => !h.startsWith('Sec-WebSocket-Key')),
    ];
    for (const headers of handshakes) {
      const conn = await Connection.open(server.url);
      const answer = await conn.send(['GET /feeds/plain/ws HTTP/1.1', 'Host: x', ...headers]);
      conn.close();
      assert.equal(answer.status, 400, headers.join(', '));
      assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'BAD_REQUEST');
    }
  });
});
