import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveOptions } from '../src/config/server-options.js';
import { ConfigError } from '../src/errors/index.js';
import { ATOM, entryXml, startTestServer, tempDir, type TestServer } from './support/server.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('TLS (--tls-cert, --tls-key)', () => {
  let dir: string;
  let ca: Buffer;
  let server: TestServer;

  /** A request over HTTPS that trusts the test's own certificate; an Upgrade answers with its status alone. */
  const https = (path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request(`${server.url}${path}`, { ca, method: options.method ?? 'GET', headers: options.headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      });
      req.on('error', reject);
      req.end(options.body);
    });

  before(async () => {
    dir = tempDir();
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    ca = readFileSync(cert);
    server = await startTestServer({ orders: {} }, { tlsCert: cert, tlsKey: key });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS, and the URLs it writes are https ones', async () => {
    assert.match(server.url, /^https:\/\//);
    const posted = await https('/feeds/orders', { method: 'POST', headers: { 'Content-Type': ATOM }, body: entryXml('secure') });
    assert.equal(posted.status, 201);
    assert.match(String(posted.headers.location), /^https:\/\/127\.0\.0\.1:\d+\/feeds\/orders\/entries\//);
    const read = await https('/feeds/orders?format=json');
    assert.equal(read.status, 200);
    assert.match(read.body, /"title":"secure"/);
  });

  it('serves WSS: a WebSocket handshake over TLS upgrades', async () => {
    const answer = await https('/feeds/orders/ws', {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(answer.status, 101);
  });

  it('serves a request that asks for h2c as HTTP/1.1 over TLS too', async () => {
    const answer = await https('/feeds/orders?format=json', { headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    assert.equal(answer.status, 200);
  });

  it('refuses --tls-cert without --tls-key, and a file it cannot read, naming the flag', () => {
    assert.throws(() => resolveOptions({ tlsCert: join(dir, 'cert.pem') }), (e) => e instanceof ConfigError && /--tls-cert/.test(e.message));
    assert.throws(() => resolveOptions({ tlsCert: join(dir, 'none.pem'), tlsKey: join(dir, 'key.pem') }), (e) => e instanceof ConfigError && /--tls-cert.*none\.pem/.test(e.message));
  });

  it('does not answer plain HTTP', async () => {
    const plain = server.url.replace(/^https:/, 'http:');
    await assert.rejects(new Promise((resolve, reject) => {
      get(`${plain}/healthz`, (res) => resolve(res.statusCode)).on('error', reject);
    }));
  });
});
