import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { validateEntry, validateFeed } from './support/atom-validator.js';
import { entryXml, postAtom, problemOf, readJson, startTestServer, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

const TOMBSTONES = 'http://purl.org/atompub/tombstones/1.0';

eachStore('member entries: GET, PUT, DELETE as a log of changes', (kind) => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ test: {}, frozen: { immutable: true } }, {}, kind);
    url = server.feedUrl('test');
  });
  after(() => server.close());

  async function publish(title: string): Promise<{ location: string; seq: number }> {
    const res = await postAtom(url, entryXml(title));
    assert.equal(res.status, 201);
    return { location: res.headers.get('location') as string, seq: Number(res.headers.get('xlastid')) };
  }

  test('GET a member: the entry, its ETag, and 304 on If-None-Match', async () => {
    const { location, seq } = await publish('member');
    const res = await fetch(location);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), `"${seq}"`);
    assert.deepEqual(validateEntry(await res.text()), []);
    const cached = await fetch(location, { headers: { 'If-None-Match': `"${seq}"` } });
    assert.equal(cached.status, 304);
  });

  test('PUT replaces the entry and moves it to a new seq; key, member URI and atom:id stay', async () => {
    const { location, seq } = await publish('before edit');
    const original = (await readJson(url, seq - 1)).body.entries[0];
    const put = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml', 'If-Match': `"${seq}"` }, body: entryXml('after edit', 'new body') });
    assert.equal(put.status, 200);
    const newSeq = Number(put.headers.get('xlastid'));
    assert.ok(newSeq > seq);
    assert.equal(put.headers.get('etag'), `"${newSeq}"`);
    assert.deepEqual(validateEntry(await put.text()), []);

    const page = await readJson(url, seq - 1);
    const keys = page.body.entries.map((e) => e.key);
    assert.equal(keys.filter((k) => k === original?.key).length, 1, 'the old version is gone from the log');
    const edited = page.body.entries.find((e) => e.key === original?.key);
    assert.equal(edited?.seq, newSeq);
    assert.equal(edited?.id, original?.id);
    assert.equal(edited?.title, 'after edit');
    assert.equal(edited?.published, original?.published, 'published is kept');
    assert.ok(String(edited?.edited) >= String(original?.edited));
  });

  test('a stale If-Match gets 412 and changes nothing (no lost update)', async () => {
    const { location, seq } = await publish('contended');
    const first = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml', 'If-Match': `"${seq}"` }, body: entryXml('winner') });
    assert.equal(first.status, 200);
    const stale = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml', 'If-Match': `"${seq}"` }, body: entryXml('loser') });
    assert.equal(stale.status, 412);
    assert.equal((await problemOf(stale)).code, 'PRECONDITION_FAILED');
    const staleDelete = await fetch(location, { method: 'DELETE', headers: { 'If-Match': `"${seq}"` } });
    assert.equal(staleDelete.status, 412);
    const now = await (await fetch(location, { headers: { Accept: 'application/json' } })).json() as { title: string };
    assert.equal(now.title, 'winner');
  });

  test('an If-Match without a valid entity tag is a 400, never an unconditional change', async () => {
    const { location } = await publish('guarded');
    const before = await (await fetch(location)).text();
    for (const ifMatch of [',,,', ' , ', 'garbage', '"1", nope', '*, "1"']) {
      const put = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml', 'If-Match': ifMatch }, body: entryXml('overwritten') });
      assert.equal(put.status, 400, `PUT If-Match: ${ifMatch}`);
      assert.equal((await problemOf(put)).code, 'INVALID_HEADER');
      const del = await fetch(location, { method: 'DELETE', headers: { 'If-Match': ifMatch } });
      assert.equal(del.status, 400, `DELETE If-Match: ${ifMatch}`);
      await del.arrayBuffer();
    }
    assert.equal(await (await fetch(location)).text(), before);
  });

  test('DELETE appends an RFC 6721 tombstone; the member is then 410 Gone', async () => {
    const { location, seq } = await publish('doomed');
    const del = await fetch(location, { method: 'DELETE' });
    assert.equal(del.status, 204);
    const tombSeq = Number(del.headers.get('xlastid'));
    assert.ok(tombSeq > seq);

    const gone = await fetch(location);
    assert.equal(gone.status, 410);
    assert.equal((await problemOf(gone)).code, 'ENTRY_GONE');
    assert.equal((await fetch(location, { method: 'DELETE' })).status, 410);

    const res = await fetch(url, { headers: { Xlastid: String(seq - 1) } });
    const xml = await res.text();
    assert.deepEqual(validateFeed(xml), []);
    const doc = new DOMParser().parseFromString(xml, 'application/xml');
    const tombstones = Array.from(doc.getElementsByTagNameNS(TOMBSTONES, 'deleted-entry'));
    assert.equal(tombstones.length, 1);
    assert.match(tombstones[0]?.getAttribute('ref') ?? '', /^urn:uuid:/);
    assert.ok(tombstones[0]?.getAttribute('when'));

    const json = (await readJson(url, seq - 1)).body.entries;
    assert.deepEqual(json.map((e) => [e.seq, e.deleted ?? false]), [[tombSeq, true]]);

    const collection = await (await fetch(`${url}?format=json`)).json() as { entries: Array<{ key: string }> };
    assert.ok(!collection.entries.some((e) => location.endsWith(e.key)), 'the collection view lists live entries only');
  });

  test('an immutable feed answers 405 to PUT and DELETE', async () => {
    const frozen = server.feedUrl('frozen');
    const res = await postAtom(frozen, entryXml('forever'));
    const location = res.headers.get('location') as string;
    const put = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml' }, body: entryXml('x') });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD');
    assert.equal((await fetch(location, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(location)).status, 200);
  });

  test('unknown members are 404', async () => {
    const res = await fetch(`${url}/entries/nope`);
    assert.equal(res.status, 404);
    assert.equal((await problemOf(res)).code, 'ENTRY_NOT_FOUND');
    const put = await fetch(`${url}/entries/nope`, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml' }, body: entryXml('x') });
    assert.equal(put.status, 404);
  });
});
