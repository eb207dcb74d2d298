import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { parseWithFeedReader, validateFeed, validateWithSchema } from './support/atom-validator.js';
import { entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const AM_NS = 'http://atommq.org/ns/1.0';

/** Titles and seqs of a feed document's entries, read with a namespace-aware DOM. */
function entriesOf(xml: string): Array<{ title: string; seq: number }> {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  return Array.from(doc.getElementsByTagNameNS(ATOM_NS, 'entry')).map((e) => ({
    title: e.getElementsByTagNameNS(ATOM_NS, 'title')[0]?.textContent ?? '',
    seq: Number(e.getElementsByTagNameNS(AM_NS, 'seq')[0]?.textContent),
  }));
}

function linkHref(xml: string, rel: string): string | undefined {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const feed = doc.documentElement;
  for (const link of Array.from(feed?.getElementsByTagNameNS(ATOM_NS, 'link') ?? [])) {
    if (link.parentNode === feed && link.getAttribute('rel') === rel) return link.getAttribute('href') ?? undefined;
  }
  return undefined;
}

eachStore('reading feeds', (kind) => {
  let server: TestServer;
  let url: string;
  const seqs: number[] = [];
  before(async () => {
    server = await startTestServer({ test: { pageSize: 4, title: 'Test feed', subtitle: 'for tests' }, empty: {} }, {}, kind);
    url = server.feedUrl('test');
    for (let i = 1; i <= 10; i++) {
      const res = await postAtom(url, entryXml(`m${i}`));
      seqs.push(Number(res.headers.get('xlastid')));
    }
  });
  after(() => server.close());

  test('the service document lists one collection per feed', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/atomsvc\+xml/);
    const doc = new DOMParser().parseFromString(await res.text(), 'application/xml');
    const collections = Array.from(doc.getElementsByTagNameNS('http://www.w3.org/2007/app', 'collection')).map((c) => c.getAttribute('href'));
    assert.deepEqual(collections, ['feeds/empty', 'feeds/test']);
  });

  test('healthz answers 200 once the database is open', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });

  test('collection view: newest first, app:edited on every entry, paged with rel="next" to the oldest', async () => {
    let next: string | undefined = url;
    const seen: number[] = [];
    while (next) {
      const res: Response = await fetch(next);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('xlastid'), String(seqs.at(-1)), 'Xlastid is the newest seq of the feed');
      const xml = await res.text();
      assert.deepEqual(validateFeed(xml), []);
      assert.equal((xml.match(/<app:edited>/g) ?? []).length, entriesOf(xml).length);
      seen.push(...entriesOf(xml).map((e) => e.seq));
      const href = linkHref(xml, 'next');
      next = href ? new URL(href, `${server.url}/`).href : undefined;
      if (next) assert.match(res.headers.get('link') ?? '', /rel="next"/);
    }
    assert.deepEqual(seen, [...seqs].reverse());
  });

  test('cursor view: Xlastid 0 returns everything oldest first, page by page, and Xlastid N only what follows N', async () => {
    const first = await fetch(url, { headers: { Xlastid: '0' } });
    const xml = await first.text();
    assert.deepEqual(validateFeed(xml), []);
    assert.deepEqual(entriesOf(xml).map((e) => e.title), ['m1', 'm2', 'm3', 'm4']);
    assert.equal(first.headers.get('xlastid'), String(seqs[3]));
    assert.equal(linkHref(xml, 'next'), `feeds/test?lastid=${seqs[3]}`);
    assert.match(first.headers.get('link') ?? '', new RegExp(`<${url}\\?lastid=${seqs[3]}>; rel="next"`));

    const after = await fetch(url, { headers: { xlastid: String(seqs[7]) } });
    const rest = await after.text();
    assert.deepEqual(entriesOf(rest).map((e) => e.title), ['m9', 'm10']);
    assert.equal(linkHref(rest, 'next'), undefined, 'no next link on the last page');
  });

  test('?lastid= is the same cursor as the header, and ?limit= sizes the page', async () => {
    const page = await readJson(url, seqs[1] as number, '&limit=3');
    const byQuery = await fetch(`${url}?format=json&lastid=${seqs[1]}&limit=3`);
    assert.deepEqual((await byQuery.json()) as unknown, page.body);
    assert.deepEqual(page.body.entries.map((e) => e.title), ['m3', 'm4', 'm5']);
    assert.equal(page.body.lastid, seqs[4]);
    assert.equal(page.body.next, `${url}?lastid=${seqs[4]}&limit=3&format=json`);
  });

  test('a cursor may be the atom:id of an entry of the feed', async () => {
    const third = (await readJson(url, seqs[1] as number, '&limit=1')).body.entries[0];
    const page = await readJson(url, third?.id as string, '&limit=2');
    assert.deepEqual(page.body.entries.map((e) => e.title), ['m4', 'm5']);
  });

  test("a cursor beyond the feed's newest seq is an empty feed with Xlastid echoing the cursor", async () => {
    // Seqs are shared by all feeds: the test feed's seqs are all below the empty feed's cursor.
    const cursor = String(seqs.at(-1));
    const res = await fetch(server.feedUrl('empty'), { headers: { Xlastid: cursor } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('xlastid'), cursor);
    const xml = await res.text();
    assert.deepEqual(entriesOf(xml), []);
    assert.deepEqual(validateFeed(xml), []);
  });

  test('a cursor beyond every seq the database ever assigned is 409 CURSOR_AHEAD naming the newest, waiting or not', async () => {
    for (const query of ['', '?wait=5']) {
      const res = await fetch(url + query, { headers: { Xlastid: '999999' } });
      assert.equal(res.status, 409);
      const problem = await res.json() as { code: string; newest: number };
      assert.deepEqual([problem.code, problem.newest], ['CURSOR_AHEAD', seqs.at(-1)]);
    }
  });

  test('ETag and If-None-Match: 304 until the feed changes', async () => {
    const res = await fetch(url, { headers: { Xlastid: '0' } });
    const etag = res.headers.get('etag') as string;
    assert.ok(etag);
    const again = await fetch(url, { headers: { Xlastid: '0', 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const other = await fetch(url, { headers: { Xlastid: '1', 'If-None-Match': etag } });
    assert.equal(other.status, 200, 'another cursor is another representation');
    const empty = server.feedUrl('empty');
    const before = (await fetch(empty)).headers.get('etag') as string;
    await postAtom(empty, entryXml('change'));
    const changed = await fetch(empty, { headers: { 'If-None-Match': before } });
    assert.equal(changed.status, 200);
  });

  test('JSON by Accept or ?format=json, with seq, id, title, content', async () => {
    const res = await fetch(url, { headers: { Accept: 'application/json', Xlastid: '0' } });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const page = (await res.json()) as { feed: { title: string }; entries: Array<Record<string, unknown>>; lastid: number };
    assert.equal(page.feed.title, 'Test feed');
    assert.equal(page.entries[0]?.seq, seqs[0]);
    assert.equal(page.entries[0]?.title, 'm1');
    assert.equal(page.entries[0]?.content, 'hello');
    assert.equal(page.lastid, seqs[3]);
  });

  test('every feed validates against the RFC 4287 RELAX NG schema and parses in a feed reader', async () => {
    const xml = await (await fetch(url)).text();
    assert.deepEqual(await validateWithSchema(xml), []);
    const parsed = await parseWithFeedReader(xml);
    assert.equal(parsed.meta.title, 'Test feed');
    assert.equal(parsed.items.length, 4);
    assert.equal(parsed.items[0]?.title, 'm10');
    assert.match(parsed.items[0]?.guid ?? '', /^urn:uuid:/);
    assert.ok(parsed.items[0]?.date instanceof Date);
    assert.equal(parsed.meta.xmlurl, url, 'the relative self link resolves against xml:base');
  });

  test('an empty feed is still a valid feed', async () => {
    server.writeFeed('fresh', {});
    await new Promise((r) => setTimeout(r, 300));
    const xml = await (await fetch(server.feedUrl('fresh'))).text();
    assert.deepEqual(validateFeed(xml), []);
    assert.deepEqual(await validateWithSchema(xml), []);
  });
});
