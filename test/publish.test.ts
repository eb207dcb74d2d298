import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { validateEntry, validateFeed } from './support/atom-validator.js';
import { ATOM, entryXml, postAtom, problemOf, readJson, startTestServer, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

const LEGACY = '<entry> <title>allo</title> <content type="xhtml"> <div xmlns="http://www.w3.org/1999/xhtml" >an important message</div> </content> </entry>';

eachStore('publishing', (kind) => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ test: {}, mycoolfeed: { author: { name: 'Ops', email: 'ops@example.com' } } }, {}, kind);
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

  test('a client atom:id is always checked: a retry without the Idempotency-Key the first POST had creates nothing', async () => {
    const body = JSON.stringify({ id: 'urn:client:1', title: 'keyed and identified' });
    const json = { 'Content-Type': 'application/json' };
    const first = await fetch(url, { method: 'POST', headers: { ...json, 'Idempotency-Key': 'hk' }, body });
    assert.equal(first.status, 201);
    const again = await fetch(url, { method: 'POST', headers: json, body });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('location'), first.headers.get('location'));
  });

  test("an Idempotency-Key equal to another entry's atom:id is a name of its own: the new entry is stored", async () => {
    const byId = await postAtom(url, '<entry xmlns="http://www.w3.org/2005/Atom"><id>urn:client:2</id><title>by id</title></entry>');
    assert.equal(byId.status, 201);
    const byKey = await postAtom(url, entryXml('by key'), { 'Idempotency-Key': 'urn:client:2' });
    assert.equal(byKey.status, 201);
    assert.notEqual(byKey.headers.get('location'), byId.headers.get('location'));
  });

  test('a key or atom:id reused for a different entry is a 409 and stores nothing, even concurrently', async () => {
    const seq = Number((await postAtom(url, entryXml('original'), { 'Idempotency-Key': 'reused' })).headers.get('xlastid'));
    const other = await postAtom(url, entryXml('another message'), { 'Idempotency-Key': 'reused' });
    assert.equal(other.status, 409);
    assert.equal((await problemOf(other)).code, 'IDEMPOTENCY_CONFLICT');

    const withId = (title: string): string => `<entry xmlns="http://www.w3.org/2005/Atom"><id>urn:client:3</id><title>${title}</title></entry>`;
    assert.equal((await postAtom(url, withId('first'))).status, 201);
    const clash = await postAtom(url, withId('second'));
    assert.equal(clash.status, 409);
    assert.equal((await problemOf(clash)).code, 'IDEMPOTENCY_CONFLICT');

    const racing = await Promise.all(['a', 'b', 'c', 'd'].map((t) => postAtom(url, entryXml(`race ${t}`), { 'Idempotency-Key': 'raced' })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 409, 409, 409]);
    const titles = (await readJson(url, seq - 1)).body.entries.map((e) => e.title);
    assert.equal(titles.filter((t) => /^(original|another message|first|second|race .)$/.test(t ?? '')).length, 3);
  });

  test('a retry that renews its atom:updated (which the server assigns) is still the same entry', async () => {
    const at = (updated: string): string => `<entry xmlns="http://www.w3.org/2005/Atom"><title>renewed</title><updated>${updated}</updated></entry>`;
    const first = await postAtom(url, at('2026-01-01T00:00:00Z'), { 'Idempotency-Key': 'renewed' });
    const retry = await postAtom(url, at('2026-01-01T00:00:30Z'), { 'Idempotency-Key': 'renewed' });
    assert.deepEqual([first.status, retry.status], [201, 200]);
    assert.equal(retry.headers.get('location'), first.headers.get('location'));
  });

  test('the collection view is valid Atom that a feed reader parses', async () => {
    const res = await fetch(url);
    const xml = await res.text();
    assert.deepEqual(validateFeed(xml), []);
  });
});
