/**
 * A browser at a feed's or an entry's URL gets a page; feed readers, AtomPub clients and curl get
 * the documents as before, and every entry (and the feed) links to its page with an alternate link
 * of type text/html. Over real HTTP, and in headless Chromium for what a page must never do: run
 * what an entry holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { Browser } from 'playwright-core';
import { ATOM_NS, validateEntry, validateFeed } from './support/atom-validator.js';
import { launchChromium, noChromium } from './support/chromium.js';
import { entryXml, postAtom, startTestServer, type JsonEntry, type JsonPage, type TestServer } from './support/server.js';
import { StreamClient } from './support/streams.js';

/** What Chromium sends when it opens a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
/** What a feed reader sends (Thunderbird's, near enough). */
const READER_ACCEPT = 'application/atom+xml,application/rss+xml;q=0.9,application/xml;q=0.8,text/xml;q=0.7,*/*;q=0.5';
/** Every Accept that must get the document, byte for byte the same: none, curl's, AtomPub's, a feed reader's. */
const DOCUMENT_ACCEPTS = [undefined, '*/*', 'application/atom+xml', READER_ACCEPT, 'application/atom+xml, text/html;q=0.5'];

const get = (url: string, accept?: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { headers: { ...(accept ? { Accept: accept } : {}), ...headers } });

/** The alternate links of type text/html an element carries, resolved against the document's xml:base. */
function htmlAlternates(xml: string, of: 'feed' | 'entry' = 'entry'): string[] {
  const root = new DOMParser().parseFromString(xml, 'application/xml').documentElement as Element;
  const base = root.getAttribute('xml:base') ?? '';
  const owner = of === 'feed' ? root : (root.localName === 'entry' ? root : root.getElementsByTagNameNS(ATOM_NS, 'entry')[0] as Element);
  return Array.from(owner.childNodes)
    .filter((n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).localName === 'link')
    .filter((l) => (l.getAttribute('rel') ?? 'alternate') === 'alternate' && l.getAttribute('type') === 'text/html')
    .map((l) => new URL(l.getAttribute('href') ?? '', base).href);
}

/** The bodies of GETs with each Accept: all must be the one document. */
async function documentsAt(url: string, contentType: RegExp): Promise<string> {
  const bodies: string[] = [];
  for (const accept of DOCUMENT_ACCEPTS) {
    const res = await get(url, accept);
    assert.equal(res.status, 200, String(accept));
    assert.match(String(res.headers.get('content-type')), contentType, String(accept));
    assert.match(String(res.headers.get('vary')), /\bAccept\b/, String(accept));
    bodies.push(await res.text());
  }
  for (const body of bodies) assert.equal(body, bodies[0]);
  return bodies[0] as string;
}

/**
 * A browser's GET: the page, never cached, with no ETag to revalidate; at a document's URL, kept
 * apart from the document by Vary (a /ui/ URL has only the page).
 */
async function pageAt(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await get(url, BROWSER_ACCEPT, headers);
  assert.equal(res.status, 200, url);
  assert.match(String(res.headers.get('content-type')), /^text\/html/);
  if (!new URL(url).pathname.startsWith('/ui/')) assert.match(String(res.headers.get('vary')), /\bAccept\b/);
  assert.equal(res.headers.get('etag'), null);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return res.text();
}

describe('a browser at a feed or entry URL', () => {
  let server: TestServer;
  let browser: Browser | undefined;
  let feedUrl: string;
  let member: string;
  let key: string;
  before(async () => {
    server = await startTestServer({ news: {} });
    feedUrl = server.feedUrl('news');
    const res = await postAtom(feedUrl, entryXml('first'));
    member = String(res.headers.get('location'));
    key = member.split('/').at(-1) as string;
  });
  after(async () => {
    await browser?.close();
    await server.close();
  });

  it('feed URL: the Atom feed for readers, AtomPub clients and curl; its live page for a browser', async () => {
    const xml = await documentsAt(feedUrl, /^application\/atom\+xml; ?type=feed/);
    assert.deepEqual(validateFeed(xml), []);
    assert.deepEqual(htmlAlternates(xml, 'feed'), [`${server.url}/ui/feeds/news`]);
    const html = await pageAt(feedUrl);
    assert.match(html, /<main data-feed="news"/);
    assert.equal(html.replace(/data-lastid="\d+"/, ''), (await pageAt(`${server.url}/ui/feeds/news`)).replace(/data-lastid="\d+"/, ''));

    // ?format= names a document whatever Accept says; the document's ETag revalidates only the document.
    const explicit = await get(`${feedUrl}?format=atom`, BROWSER_ACCEPT);
    assert.match(String(explicit.headers.get('content-type')), /^application\/atom\+xml/);
    const etag = String((await get(feedUrl)).headers.get('etag'));
    assert.equal((await get(feedUrl, 'application/atom+xml', { 'If-None-Match': etag })).status, 304);
    await pageAt(feedUrl, { 'If-None-Match': etag });
  });

  it('entry URL: the Atom entry for readers and clients; a readable page for a browser, also at /ui/…', async () => {
    const xml = await documentsAt(member, /^application\/atom\+xml; ?type=entry/);
    assert.deepEqual(validateEntry(xml), []);
    const page = `${server.url}/ui/feeds/news/entries/${key}`;
    assert.deepEqual(htmlAlternates(xml), [page]);
    const html = await pageAt(member);
    assert.match(html, /<h1 id="title">first<\/h1>/);
    assert.match(html, /<pre id="content">hello<\/pre>/);
    assert.ok(html.includes(`href="${server.url}/ui/feeds/news"`), 'a link back to the feed\'s page');
    assert.equal(await pageAt(page), html);
    const etag = `"${(await get(member)).headers.get('xlastid')}"`;
    const notModified = await get(member, 'application/atom+xml', { 'If-None-Match': etag });
    assert.equal(notModified.status, 304);
    assert.match(String(notModified.headers.get('vary')), /\bAccept\b/);
    await pageAt(member, { 'If-None-Match': etag });

    assert.equal((await get(`${server.url}/ui/feeds/news/entries/nope`)).status, 404);
    const gone = await postAtom(feedUrl, entryXml('gone'));
    await fetch(String(gone.headers.get('location')), { method: 'DELETE' });
    assert.equal((await get(String(gone.headers.get('location')), BROWSER_ACCEPT)).status, 410);
  });

  it('every Atom and JSON form of an entry links to its page: 201 body, member, pages, streams', async () => {
    const created = await postAtom(feedUrl, entryXml('linked'));
    const location = String(created.headers.get('location'));
    const page = `${server.url}/ui/feeds/news/entries/${location.split('/').at(-1)}`;
    assert.deepEqual(htmlAlternates(await created.text()), [page], 'the 201 body');
    assert.deepEqual(htmlAlternates(await (await get(location)).text()), [page], 'the member');
    const seq = Number(created.headers.get('xlastid'));
    const cursor = await (await get(feedUrl, undefined, { Xlastid: String(seq - 1) })).text();
    assert.deepEqual(validateFeed(cursor), []);
    assert.deepEqual(htmlAlternates(cursor), [page], 'a page of the feed');

    const json = (await (await get(`${feedUrl}?format=json`, undefined, { Xlastid: String(seq - 1) })).json()) as JsonPage;
    const alternate = { rel: 'alternate', type: 'text/html', href: `ui/feeds/news/entries/${location.split('/').at(-1)}` };
    assert.deepEqual(json.entries[0]?.links, [alternate], 'JSON, relative to the base URL as in Atom');
    assert.equal(new URL(alternate.href, `${server.url}/`).href, page);

    const stream = await StreamClient.open(`${feedUrl}?lastid=${seq - 1}`, { headers: { Accept: 'text/event-stream' } });
    try {
      await stream.waitFor(() => stream.events.length > 0, 'the entry over SSE');
      assert.deepEqual(htmlAlternates(stream.events[0]?.data ?? ''), [page], 'an SSE frame');
    } finally {
      stream.destroy();
    }
  });

  it('a client\'s own text/html alternate stays the only one (RFC 4287 4.1.1); other alternates get ours beside them', async () => {
    const own = '<link rel="alternate" type="text/html" href="https://example.org/post"/>';
    const withOwn = await postAtom(feedUrl, `<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title>${own}</entry>`);
    const stored = await withOwn.text();
    assert.deepEqual(validateEntry(stored), []);
    assert.deepEqual(htmlAlternates(stored), ['https://example.org/post']);

    const other = '<link href="https://example.org/post.pdf" type="application/pdf"/><link href="https://example.org/fr" type="text/html" rel="related"/>';
    const beside = await (await postAtom(feedUrl, `<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title>${other}</entry>`)).text();
    assert.deepEqual(validateEntry(beside), []);
    assert.equal(htmlAlternates(beside).length, 1);
    assert.match(htmlAlternates(beside)[0] as string, /\/ui\/feeds\/news\/entries\//);

    const json = await fetch(feedUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 't', links: [{ rel: 'alternate', type: 'text/html', href: 'https://example.org/j' }] }),
    });
    assert.deepEqual(((await json.json()) as JsonEntry).links, [{ rel: 'alternate', type: 'text/html', href: 'https://example.org/j' }]);
  });

  it('in Chromium: nothing an entry holds runs, its markup shows only in a sandboxed frame; the feed URL is the live page', { timeout: 60_000, skip: noChromium }, async () => {
    const attack = '<script>console.log("xss-ran")</script><img src=x onerror="console.log(\'xss-ran\')">';
    const res = await fetch(feedUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        title: attack, summary: attack, author: { name: attack, uri: 'javascript:console.log("xss-ran")' },
        categories: [{ term: 'x', label: attack }], contentType: 'html', content: `${attack}<b>bold</b>`,
      }),
    });
    const xss = String(res.headers.get('location'));
    const xhtml = await postAtom(feedUrl, '<entry xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;img src=x onerror=console.log("xss-ran")&gt;</title>'
      + '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="console.log(\'xss-ran\')"/><i>italic</i></div></content></entry>');

    browser = await launchChromium();
    const page = await browser.newPage();
    const ran: string[] = [];
    page.on('console', (message) => { if (message.text().includes('xss-ran')) ran.push(message.text()); });
    page.on('dialog', (dialog) => { ran.push(dialog.message()); void dialog.dismiss(); });

    await page.goto(xss);
    assert.equal(await page.locator('#title').textContent(), attack, 'the title shown as text');
    assert.equal(await page.locator('#summary').textContent(), attack);
    const frame = page.frameLocator('#content');
    assert.equal(await frame.locator('b').textContent(), 'bold', 'html content rendered, inside the frame');
    assert.deepEqual(await page.evaluate(() => [document.scripts.length, document.images.length,
      document.querySelectorAll('[onerror]').length, document.querySelectorAll('a[href^="javascript:"]').length]), [0, 0, 0, 0]);
    assert.equal(await page.locator('#content').getAttribute('sandbox'), '');

    await page.goto(String(xhtml.headers.get('location')));
    assert.equal(await page.frameLocator('#content').locator('i').textContent(), 'italic');
    assert.match(String(await page.locator('#title').textContent()), /^<img src=x onerror=/);
    await page.waitForTimeout(300);
    assert.deepEqual(ran, [], 'no script of an entry ran');

    // The feed's URL is its live page; an entry's title links to the entry's page.
    await page.goto(feedUrl);
    await page.locator('#state', { hasText: 'live' }).waitFor();
    await page.locator('#entries li a', { hasText: 'linked' }).click();
    await page.waitForURL(/\/ui\/feeds\/news\/entries\//);
    assert.equal(await page.locator('#title').textContent(), 'linked');
    assert.deepEqual(ran, []);
  });
});
