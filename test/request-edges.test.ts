/**
 * Requests at the edges of HTTP: the Host header and --base-url, Slug headers in every encoding,
 * and connections that send their requests a byte at a time.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ATOM, entryXml, postAtom, readJson, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { trickle } from './support/raw-connection.js';
import { consumers, eventually, StreamClient } from './support/streams.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Asking {
  method?: string;
  body?: string;
  /** The Host header (fetch will not send one of the test's choosing); the URL's by default. */
  host?: string;
  /** The request-target as sent: a path, or an absolute URL (fetch sends neither as is); the URL's path by default. */
  target?: string;
}

/** One request as the test words it. */
function ask(url: string, options: Asking = {}): Promise<Answer> {
  const parsed = new URL(url);
  const headers: Record<string, string> = { Host: options.host ?? parsed.host, ...(options.body === undefined ? {} : { 'Content-Type': ATOM }) };
  return new Promise((resolve, reject) => {
    const path = options.target ?? parsed.pathname + parsed.search;
    const req = request({ hostname: parsed.hostname, port: parsed.port, path, method: options.method ?? 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function withHost(url: string, host: string, options: Asking = {}): Promise<Answer> {
  return ask(url, { ...options, host });
}

const EVIL_HOST = 'a>; rel="next", <http://evil.example/x';

describe('the Host header', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ test: { pageSize: 1 } });
    for (const title of ['one', 'two']) assert.equal((await postAtom(server.feedUrl('test'), entryXml(title))).status, 201);
  });
  after(() => server.close());

  test('a Host that is not host[:port] is a 400 and stores nothing', async () => {
    for (const host of [EVIL_HOST, 'a b', 'x:y', '[not-an-ip]', 'a/b']) {
      const read = await withHost(server.feedUrl('test'), host);
      assert.equal(read.status, 400, `GET with Host ${host}`);
      assert.equal((JSON.parse(read.body) as { code: string }).code, 'INVALID_HEADER');
      const post = await withHost(server.feedUrl('test'), host, { method: 'POST', body: entryXml('smuggled') });
      assert.equal(post.status, 400, `POST with Host ${host}`);
    }
    const titles = (await readJson(server.feedUrl('test'), 0)).body.entries.map((e) => e.title);
    assert.deepEqual(titles, ['one']);
  });

  test('a host name, an address and an IPv6 literal, each with a port, build the URLs', async () => {
    for (const host of ['bus.example.com:8080', '10.0.0.7', '[::1]:9090']) {
      const res = await withHost(server.feedUrl('test'), host);
      assert.equal(res.status, 200, host);
      assert.match(res.body, new RegExp(`xml:base="http://${host.replace(/[.[\]]/g, '\\$&')}/"`));
      assert.equal(res.headers.link, `<http://${host}/feeds/test?before=${/<am:seq>(\d+)/.exec(res.body)?.[1]}>; rel="next"`);
    }
  });
});

describe("a feed's URL written another way", () => {
  // GET and POST /feeds/<name> exactly are served without Express's router (src/http/direct-routes.ts);
  // every other spelling of the same URL goes through it. Both must give the same answers.
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ test: {} });
  });
  after(() => server.close());

  test('a trailing slash, another case, a percent-encoded name and an absolute URL publish to and read the same feed', async () => {
    const { url } = server;
    const spellings = ['/feeds/test', '/feeds/test/', '/FEEDS/test', '/feeds/t%65st', `${url}/feeds/test`];
    for (const [i, target] of spellings.entries()) {
      const post = await ask(url, { target, method: 'POST', body: entryXml(`via ${i}`) });
      assert.equal(post.status, 201, `POST ${target}`);
      assert.match(String(post.headers.location), new RegExp(`^${url}/feeds/test/entries/`), `POST ${target}`);
    }
    const pages = await Promise.all(spellings.slice(0, 4).map(async (target) => {
      const res = await fetch(`${url}${target}?format=json`, { headers: { Xlastid: '0' } });
      assert.equal(res.status, 200, `GET ${target}`);
      return { lastid: res.headers.get('xlastid'), titles: ((await res.json()) as JsonPage).entries.map((e) => e.title) };
    }));
    assert.deepEqual(pages[0]?.titles, ['via 0', 'via 1', 'via 2', 'via 3', 'via 4']);
    for (const page of pages) assert.deepEqual(page, pages[0]);
  });

  test('HEAD of a feed answers as its GET does, without the body', async () => {
    const [get, head] = await Promise.all(['GET', 'HEAD'].map((method) => fetch(server.feedUrl('test'), { method, headers: { Xlastid: '0' } })));
    assert.equal(head?.status, 200);
    assert.equal(await head?.text(), '');
    for (const name of ['content-type', 'etag', 'xlastid', 'vary']) assert.equal(head?.headers.get(name), get?.headers.get(name), name);
  });

  test('a method a feed does not take is a 405 with Allow, as on the router', async () => {
    const res = await fetch(server.feedUrl('test'), { method: 'PUT', headers: { 'Content-Type': ATOM }, body: entryXml('x') });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, POST');
  });
});

describe('--base-url', () => {
  const BASE = 'https://bus.example.com/atommq';
  let server: TestServer;
  before(async () => { server = await startTestServer({ test: { pageSize: 1 } }, { baseUrl: `${BASE}/` }); });
  after(() => server.close());

  test('is every absolute URL the server writes, whatever the Host', async () => {
    for (const title of ['one', 'two']) {
      const posted = await withHost(server.feedUrl('test'), EVIL_HOST, { method: 'POST', body: entryXml(title) });
      assert.equal(posted.status, 201);
      assert.match(String(posted.headers.location), new RegExp(`^${BASE}/feeds/test/entries/[0-9a-f-]{36}$`));
      assert.match(posted.body, new RegExp(`xml:base="${BASE}/"`));
    }
    const page = await withHost(server.feedUrl('test'), EVIL_HOST);
    assert.equal(page.status, 200);
    assert.match(String(page.headers.link), new RegExp(`^<${BASE}/feeds/test\\?before=\\d+>; rel="next"$`));
    assert.match(page.body, new RegExp(`xml:base="${BASE}/"`));
    const service = await withHost(server.url, EVIL_HOST);
    assert.match(service.body, new RegExp(`xml:base="${BASE}/"`));
  });
});

describe('Slug', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.feedUrl('test');
  });
  after(() => server.close());

  async function slugged(slug: string): Promise<string> {
    const res = await postAtom(url, entryXml(`slug ${slug}`), { Slug: slug });
    assert.equal(res.status, 201);
    return (res.headers.get('location') ?? '').slice(`${url}/entries/`.length);
  }

  test('is percent-decoded as UTF-8 and transliterated to ASCII (RFC 5023 9.7)', async () => {
    assert.equal(await slugged('Caf%C3%A9%20Ol%C3%A9'), 'cafe-ole');
    assert.equal(await slugged('na%C3%AFve-caf%C3%A9'), 'naive-cafe');
    assert.equal(await slugged('Stra%C3%9Fe %C3%86ther'), 'strasse-aether');
  });

  test('raw UTF-8 bytes (which Node hands over as latin1) are read as UTF-8 too', async () => {
    const raw = Buffer.from('Crème Brûlée', 'utf8').toString('latin1');
    assert.equal(await slugged(raw), 'creme-brulee');
  });

  test('the 64-character cut leaves no trailing ".", "-" or "_"', async () => {
    for (const [letter, filler] of [['a', '.'], ['b', '-'], ['c', '_'], ['d', ' ']] as const) {
      const key = await slugged(`${letter.repeat(63)}${filler}z`);
      assert.equal(key, letter.repeat(63));
    }
  });

  test('what has no ASCII form falls back to a UUID', async () => {
    assert.match(await slugged('%E6%B3%A8%E6%96%87'), /^[0-9a-f-]{36}$/);
  });

  test('malformed percent-encoding is read as the text it is: a Slug is only a hint', async () => {
    assert.equal(await slugged('100%zz%'), '100-zz');
  });
});

describe('slow clients (--headers-timeout 1, --request-timeout 1)', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ test: { maxWait: 10 } }, { headersTimeout: '1', requestTimeout: '1' });
    url = server.feedUrl('test');
  });
  after(() => server.close());

  // 80 bytes a quarter of a second apart would take 20 s: the server must cut it long before the end.
  const SLOW = `GET /feeds/test HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'p'.repeat(40)}\r\n\r\n`;

  test('headers sent a byte at a time: the connection is closed with a 408', async () => {
    const slow = await trickle(url, SLOW, 250);
    assert.ok(slow.closed && slow.sent < SLOW.length, `the server waited for all ${slow.sent} bytes`);
    assert.match(slow.answer, /^HTTP\/1\.1 408 /);
    assert.match(slow.answer, /"code":"REQUEST_TIMEOUT"/);
  });

  test('a body sent a byte at a time is cut by the request timeout, and stores nothing', async () => {
    assert.equal((await postAtom(url, entryXml('fast'))).status, 201);
    const body = entryXml('slow');
    const head = `POST /feeds/test HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${ATOM}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slow = await trickle(url, head + body, 250, head.length);
    assert.ok(slow.closed && slow.sent < head.length + body.length, `the server waited for all ${slow.sent} bytes`);
    assert.match(slow.answer, /^HTTP\/1\.1 408 /);
    assert.deepEqual((await readJson(url, 0)).body.entries.map((e) => e.title), ['fast']);
  });

  test('a long-poll and a stream, held longer than both timeouts, still answer', async () => {
    const newest = (await readJson(url, 0)).body.lastid;
    const held = fetch(`${url}?format=json&wait=10`, { headers: { Xlastid: String(newest) } });
    const stream = await StreamClient.open(url, { headers: { Accept: 'text/event-stream' } });
    await eventually(async () => (await consumers(server.url)) === 2, 'the long-poll and the stream to be held');
    // Longer than the timeouts and the interval at which the server looks for expired requests.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const posted = await postAtom(url, entryXml('after the timeouts'));
    const seq = Number(posted.headers.get('xlastid'));
    await stream.waitFor(() => stream.seqs().includes(seq), 'the entry on the stream');
    stream.destroy();
    const page = (await (await held).json()) as JsonPage;
    assert.deepEqual(page.entries.map((e) => e.seq), [seq]);
  });
});
