/**
 * The web page for people (DESIGN.md section 15): `GET /` from a browser is a dashboard, and a
 * feed's page tails it live and publishes, checked over plain HTTP and in headless Chromium.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { RecentCounts } from '../src/http/ops/web/recent-counts.js';
import { launchChromium, noChromium } from './support/chromium.js';
import { claim } from './support/groups-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { publishMany } from './support/streams.js';

/** What Chromium sends when it opens a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('the web page', () => {
  let server: TestServer;
  let browser: Browser | undefined;
  before(async () => {
    server = await startTestServer({ news: {}, orders: {} });
    await publishMany(server.feedUrl('news'), 3, 1, 'old');
    await claim(server.feedUrl('news'), 'mailer', { limit: 1 });
  });
  after(async () => {
    await browser?.close();
    await server.close();
  });

  it('GET / is the service document, byte for byte, unless the client prefers HTML', async () => {
    const bodies = [];
    for (const accept of [undefined, '*/*', 'application/atomsvc+xml', 'application/atomsvc+xml, text/html;q=0.5']) {
      const res = await fetch(`${server.url}/`, { headers: accept ? { Accept: accept } : {} });
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^application\/atomsvc\+xml/, String(accept));
      bodies.push(await res.text());
    }
    assert.ok(bodies[0]?.startsWith('<?xml'));
    for (const body of bodies) assert.equal(body, bodies[0]);

    const page = await fetch(`${server.url}/`, { headers: { Accept: BROWSER_ACCEPT } });
    assert.equal(page.status, 200);
    assert.match(String(page.headers.get('content-type')), /^text\/html/);
    assert.match(String(page.headers.get('vary')), /Accept/);
    const html = await page.text();
    assert.ok(html.includes(`href="${server.url}/ui/feeds/news"`), 'each feed links to its page');
    assert.ok(html.includes(`href="${server.url}/ui/feeds/orders"`));
    assert.match(html, /mailer \(lag 2\)/);
  });

  it('a feed page names its feed and the curl command; an unknown feed is 404', async () => {
    const res = await fetch(`${server.url}/ui/feeds/news`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /data-feed="news"/);
    assert.ok(html.includes(`curl -H 'Content-Type: application/json' -d '{&quot;title&quot;:&quot;hello&quot;`), 'the curl command, escaped');
    const script = await fetch(`${server.url}/ui/tail.js`);
    assert.match(String(script.headers.get('content-type')), /^text\/javascript/);
    assert.match(await script.text(), /EventSource/);
    assert.equal((await fetch(`${server.url}/ui/feeds/nope`)).status, 404);
  });

  it('counts publishes over the last minute only', () => {
    const counts = new RecentCounts();
    counts.add('news', 2, 1_000_000);
    counts.add('news', 3, 1_030_000);
    counts.add('news', 1, 1_030_500);
    assert.equal(counts.lastMinute('news', 1_030_999), 6);
    assert.equal(counts.lastMinute('news', 1_065_000), 4, 'the first second has left the window');
    assert.equal(counts.lastMinute('news', 1_200_000), 0);
    counts.add('news', 5, 1_120_000); // the same slot as 1_060_000, a minute later
    assert.equal(counts.lastMinute('news', 1_120_000), 5);
    assert.equal(counts.lastMinute('orders', 1_120_000), 0);
  });

  it('in Chromium: dashboard, feed page, publish through the form, entry in the live tail', { timeout: 60_000, skip: noChromium }, async () => {
    browser = await launchChromium();
    // WEB_SCREENSHOT_DIR=docs takes the README's picture.
    const shots = process.env.WEB_SCREENSHOT_DIR ?? server.dir;
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    await page.goto(`${server.url}/`);
    await page.screenshot({ path: join(shots, 'web-dashboard.png') });
    assert.deepEqual(await page.locator('#feeds tbody td:first-child').allTextContents(), ['news', 'orders']);
    await page.click('text=news');
    await page.waitForURL(/\/ui\/feeds\/news$/);
    await page.locator('#entries li').nth(2).waitFor();
    assert.deepEqual(await page.locator('#entries li strong').allTextContents(), ['old2', 'old1', 'old0'], 'the backlog, newest on top');

    const title = '<b>hello</b> & "world"';
    await page.fill('input[name=title]', title);
    await page.fill('textarea[name=content]', 'from the form');
    await page.click('button[type=submit]');
    await page.locator('#entries li').nth(3).waitFor();
    assert.equal(await page.locator('#entries li strong').first().textContent(), title, 'shown as text, newest on top');
    assert.equal(await page.locator('#entries b').count(), 0, 'nothing an entry holds becomes markup');
    assert.equal(await page.locator('#entries li pre').first().textContent(), 'from the form');
    assert.match(String(await page.locator('#status').textContent()), /published \(201\)/);
    assert.equal(await page.locator('#state').textContent(), 'live');

    await page.screenshot({ path: join(shots, 'web-feed-page.png') });
  });
});

/**
 * A reverse proxy that serves the server under `/bus/` (as `--base-url http://host/bus/` says it
 * is), passing everything through as it streams, SSE included.
 */
async function pathProxy(upstream: () => string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/bus/')) {
      res.writeHead(404).end();
      return;
    }
    const target = new URL(upstream());
    const forwarded = request({ hostname: target.hostname, port: target.port, path: req.url.slice('/bus'.length), method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bus`, server };
}

describe('the web page behind a proxy that serves it under a path (--base-url)', () => {
  let server: TestServer;
  let proxy: { url: string; server: Server };
  let browser: Browser | undefined;
  before(async () => {
    proxy = await pathProxy(() => server.url);
    server = await startTestServer({ news: {} }, { baseUrl: `${proxy.url}/` });
    await publishMany(server.feedUrl('news'), 1, 1, 'old');
  });
  after(async () => {
    await browser?.close();
    proxy.server.closeAllConnections();
    proxy.server.close();
    await server.close();
  });

  it('every link, script and stream URL of the pages keeps the path', async () => {
    const pages = [
      await (await fetch(`${proxy.url}/`, { headers: { Accept: BROWSER_ACCEPT } })).text(),
      await (await fetch(`${proxy.url}/ui/feeds/news`)).text(),
    ];
    for (const html of pages) {
      assert.doesNotMatch(html, /(?:href|src)="\//, 'nothing root-relative');
      for (const [, url] of html.matchAll(/(?:href|src|data-feed-url|data-entry-pages)="(http[^"]*)"/g)) assert.ok(url?.startsWith(`${proxy.url}/`), url);
    }
    assert.ok(pages[1]?.includes(`src="${proxy.url}/ui/tail.js"`));
    assert.ok(pages[1]?.includes(`data-feed-url="${proxy.url}/feeds/news"`));
  });

  it('in Chromium: from the dashboard to a feed page, publish, and on to the entry\'s page, all through the proxy', { timeout: 60_000, skip: noChromium }, async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${proxy.url}/`);
    await page.click('text=news');
    await page.waitForURL(`${proxy.url}/ui/feeds/news`);
    await page.locator('#entries li').first().waitFor();
    await page.fill('input[name=title]', 'through the proxy');
    await page.click('button[type=submit]');
    await page.locator('#entries li strong', { hasText: 'through the proxy' }).waitFor();
    assert.equal(await page.locator('#state').textContent(), 'live');
    await page.click('text=through the proxy');
    await page.waitForURL(new RegExp(`^${proxy.url}/ui/feeds/news/entries/`));
    assert.match(String(await page.locator('h1').textContent()), /through the proxy/);
  });
});

