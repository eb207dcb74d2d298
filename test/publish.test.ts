import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validateEntry, validateFeed } from './support/atom-validator.js';
import { ATOM, entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';

const LEGACY = '<entry> <title>allo</title> <content type="xhtml"> <div xmlns="http://www.w3.org/1999/xhtml" >an important message</div> </content> </entry>';

describe('publishing', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ test: {}, mycoolfeed: { author: { name: 'Ops', email: 'ops@example.com' } } });
    url = server.feedUrl('test');
  });
  after(() => server.close());

  test("the original AtomMQ's curl example works unchanged (no namespace, form-urlencoded)", async () => {
    const res = await fetch(server.feedUrl('mycoolfeed'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: LEGACY,
    });
    assert.equal(res.status, 201);
    const body = await res.text();
    assert.deepEqual(validateEntry(body), []);
    assert.match(body, /<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">an important message<\/div>/);
    const page = await readJson(server.feedUrl('mycoolfeed'), 0);
    assert.equal(page.body.entries[0]?.title, 'allo');
    assert.equal(page.body.entries[0]?.content, 'an important message');
  });

  test('201 with Location, Content-Location, ETag, Xlastid and the stored entry', async () => {
    const res = await postAtom(url, entryXml('first'));
    assert.equal(res.status, 201);
    const location = res.headers.get('location');
    assert.ok(location?.startsWith(`${url}/entries/`));
    assert.equal(res.headers.get('content-location'), location);
    const seq = Number(res.headers.get('xlastid'));
    assert.ok(seq > 0);
    assert.equal(res.headers.get('etag'), `"${seq}"`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/atom\+xml; ?type=entry/);
    const body = await res.text();
    assert.deepEqual(validateEntry(body), []);
    assert.match(body, new RegExp(`<am:seq>${seq}</am:seq>`));
    const member = await fetch(location as string);
    assert.equal(member.status, 200);
    assert.equal(await member.text(), body);
  });

  test('the server assigns id, updated, published, app:edited and the edit link; the client keeps the rest', async () => {
    const posted = `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom" xmlns:ex="urn:example:ext" xmlns:app="http://www.w3.org/2007/app">
  <id>urn:client:42</id>
  <updated>1999-01-01T00:00:00Z</updated>
  <app:edited>1999-01-01T00:00:00Z</app:edited>
  <title type="html">&lt;b&gt;bold&lt;/b&gt; &amp; more</title>
  <author><name>Naveed</name><email>n@example.com</email></author>
  <category term="orders" scheme="urn:cats" label="Orders"/>
  <link rel="related" href="http://example.com/x"/>
  <summary>a summary</summary>
  <content type="application/octet-stream">AAECAwQ=</content>
  <ex:priority level="high">7<ex:note>keep <![CDATA[<me>]]></ex:note></ex:priority>
</entry>`;
    const res = await postAtom(url, posted);
    assert.equal(res.status, 201);
    const xml = await res.text();
    assert.deepEqual(validateEntry(xml), []);
    assert.doesNotMatch(xml, /urn:client:42/);
    assert.doesNotMatch(xml, /1999-01-01/);
    assert.match(xml, /<ex:priority xmlns:ex="urn:example:ext" level="high">7<ex:note>keep <!\[CDATA\[<me>\]\]><\/ex:note><\/ex:priority>/);
    assert.match(xml, /<content type="application\/octet-stream">AAECAwQ=<\/content>/);
    assert.match(xml, /<category term="orders" scheme="urn:cats" label="Orders"\/>/);
    const json = (await readJson(url, Number(res.headers.get('xlastid')) - 1)).body.entries[0];
    assert.equal(json?.title, '<b>bold</b> & more');
    assert.deepEqual(json?.authors, [{ name: 'Naveed', email: 'n@example.com' }]);
    assert.equal(json?.content, 'AAECAwQ=');
    assert.equal(json?.summary, 'a summary');
  });

  test('an Atom entry under a prefix, and unprefixed foreign children, keep their meaning', async () => {
    const posted = '<a:entry xmlns:a="http://www.w3.org/2005/Atom" xmlns="urn:other"><a:title>prefixed</a:title><thing>x</thing></a:entry>';
    const res = await postAtom(url, posted);
    assert.equal(res.status, 201);
    const xml = await res.text();
    assert.deepEqual(validateEntry(xml), []);
    assert.match(xml, /<thing xmlns="urn:other"[^>]*>x<\/thing>/);
    assert.match(xml, /<a:title xmlns:a="http:\/\/www.w3.org\/2005\/Atom"[^>]*>prefixed<\/a:title>/);
  });

  test('a missing title is stored empty and a missing author falls back to the feed author', async () => {
    const res = await postAtom(server.feedUrl('mycoolfeed'), '<entry xmlns="http://www.w3.org/2005/Atom"><content>x</content></entry>');
    const xml = await res.text();
    assert.deepEqual(validateEntry(xml), []);
    assert.match(xml, /<title type="text"><\/title>/);
    assert.match(xml, /<author><name>Ops<\/name><email>ops@example.com<\/email><\/author>/);
  });

  test('accepts application/atom+xml;type=entry, application/xml and text/xml', async () => {
    for (const type of ['application/atom+xml;type=entry', 'application/xml', 'text/xml; charset=utf-8']) {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body: entryXml(type) });
      assert.equal(res.status, 201, type);
    }
  });

  test('JSON in, JSON out; structured content round-trips and the Atom form stays valid', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'order', content: { orderId: 42, items: ['a', 'b'] }, categories: ['orders'], author: 'shop' }),
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const entry = (await res.json()) as Record<string, unknown>;
    assert.equal(entry.title, 'order');
    assert.deepEqual(entry.content, { orderId: 42, items: ['a', 'b'] });
    assert.equal(entry.seq, Number(res.headers.get('xlastid')));
    const atom = await fetch(res.headers.get('location') as string, { headers: { Accept: ATOM } });
    assert.deepEqual(validateEntry(await atom.text()), []);
  });

  test('JSON text, html and xhtml content', async () => {
    for (const [contentType, content] of [['text', 'plain <text>'], ['html', '<p>hi</p>'], ['xhtml', '<p>hi <b>there</b></p>']] as const) {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: contentType, content, contentType }) });
      assert.equal(res.status, 201, contentType);
      const entry = (await res.json()) as Record<string, unknown>;
      assert.equal(entry.contentType, contentType);
      assert.equal(typeof entry.content, 'string');
      const atom = await fetch(res.headers.get('location') as string);
      assert.deepEqual(validateEntry(await atom.text()), [], contentType);
    }
  });

  test('Slug becomes the member URI when free and safe, a UUID otherwise', async () => {
    const first = await postAtom(url, entryXml('slugged'), { Slug: 'My%20First Post!' });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('location'), `${url}/entries/my-first-post`);
    const taken = await postAtom(url, entryXml('slugged again'), { Slug: 'my first post' });
    assert.match(taken.headers.get('location') ?? '', /\/entries\/[0-9a-f-]{36}$/);
    const unsafe = await postAtom(url, entryXml('unsafe'), { Slug: '../..' });
    assert.match(unsafe.headers.get('location') ?? '', /\/entries\/[0-9a-f-]{36}$/);
  });

  test('a retry with the same Idempotency-Key creates nothing and answers 200 with the stored entry', async () => {
    const first = await postAtom(url, entryXml('once'), { 'Idempotency-Key': 'retry-1' });
    assert.equal(first.status, 201);
    const second = await postAtom(url, entryXml('once'), { 'Idempotency-Key': 'retry-1' });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('location'), first.headers.get('location'));
    assert.equal(second.headers.get('xlastid'), first.headers.get('xlastid'));
    const seq = Number(first.headers.get('xlastid'));
    const titles = (await readJson(url, seq - 1)).body.entries.map((e) => e.title);
    assert.equal(titles.filter((t) => t === 'once').length, 1);
  });

  test("a retry carrying the same client atom:id is recognised too, even concurrently", async () => {
    const body = '<entry xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:6b7e0d1c-0000-4000-8000-000000000001</id><title>dup</title></entry>';
    const answers = await Promise.all(Array.from({ length: 5 }, () => postAtom(url, body)));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(answers.map((r) => r.headers.get('location'))).size, 1);
  });

  test('the collection view is valid Atom that a feed reader parses', async () => {
    const res = await fetch(url);
    const xml = await res.text();
    assert.deepEqual(validateFeed(xml), []);
  });
});
