/**
 * CORS (--cors): preflights over plain HTTP, and a real browser's EventSource on a page of another
 * origin (headless Chromium, as test/browser.test.ts drives it).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, noChromium } from './support/chromium.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';
import { eventually, publishMany } from './support/streams.js';

/** A page server on its own port: another origin than the AtomMQ server's. */
function pageServer(port: number): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>other origin</title>'));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('CORS (--cors)', () => {
  let pagePort: number;
  let origin: string;
  let server: TestServer;
  let pages: Server;
  let browser: Browser | undefined;

  before(async () => {
    pagePort = await freePort();
    origin = `http://127.0.0.1:${pagePort}`;
    pages = await pageServer(pagePort);
    server = await startTestServer({ news: {}, varied: {} }, { cors: `https://elsewhere.example, ${origin}` });
  });
  after(async () => {
    await browser?.close();
    await server.close();
    await new Promise((resolve) => pages.close(resolve));
  });

  it('answers a preflight from a listed origin, and leaves an unlisted one without CORS headers', async () => {
    const preflight = (from: string): Promise<Response> => fetch(server.feedUrl('news'), {
      method: 'OPTIONS', headers: { Origin: from, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    const allowed = await preflight(origin);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), origin);
    assert.match(String(allowed.headers.get('access-control-allow-methods')), /POST/);
    assert.equal(allowed.headers.get('access-control-allow-headers'), 'authorization, content-type');
    const refused = await preflight('http://unlisted.example');
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    const get = await fetch(server.feedUrl('news'), { headers: { Origin: origin } });
    assert.equal(get.headers.get('access-control-allow-origin'), origin);
    assert.match(String(get.headers.get('access-control-expose-headers')), /Xlastid/);
  });

  it('keeps Vary: Origin beside the Vary of feeds and entries, so a cache never hands one origin the answer of another', async () => {
    const headers = { Origin: origin };
    const varies = (res: Response): string[] => String(res.headers.get('vary')).split(',').map((v) => v.trim().toLowerCase());
    const posted = await fetch(server.feedUrl('varied'), {
      method: 'POST', headers: { ...headers, 'Content-Type': 'application/atom+xml' },
      body: '<entry xmlns="http://www.w3.org/2005/Atom"><title>vary</title><content>v</content></entry>',
    });
    assert.equal(posted.status, 201);
    const member = String(posted.headers.get('location'));
    const got = await fetch(member, { headers });
    const notModified = await fetch(member, { headers: { ...headers, 'If-None-Match': String(got.headers.get('etag')) } });
    assert.equal(notModified.status, 304);
    const page = await fetch(`${server.feedUrl('varied')}?lastid=0`, { headers });
    for (const [what, res] of [['201', posted], ['member', got], ['304', notModified], ['page', page]] as const) {
      await res.arrayBuffer();
      assert.ok(varies(res).includes('origin'), `${what}: Vary ${res.headers.get('vary')} lacks Origin`);
      assert.ok(varies(res).includes('accept'), `${what}: Vary ${res.headers.get('vary')} lacks Accept`);
    }
  });

  it('lets an EventSource on a page of a listed origin stream a feed', { timeout: 60_000, skip: noChromium }, async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.evaluate((url) => {
      const titles: string[] = [];
      (window as unknown as { titles: string[] }).titles = titles;
      new EventSource(url).onmessage = (event) => titles.push(String(JSON.parse(event.data as string).title));
    }, `${server.feedUrl('news')}?lastid=0&format=json`);
    await publishMany(server.feedUrl('news'), 3, 1, 'cross');
    const titles = async (): Promise<string[]> => page.evaluate(() => (window as unknown as { titles: string[] }).titles);
    await eventually(async () => (await titles()).length === 3, 'the entries in the page of the other origin');
    assert.deepEqual(await titles(), ['cross0', 'cross1', 'cross2']);
    assert.notEqual(new URL(server.url).port, String((pages.address() as AddressInfo).port), 'the page is of another origin');
  });
});
