/**
 * Delayed and expiring messages: `AtomMQ-Deliver-After` / `AtomMQ-Expires` (delta seconds or an
 * HTTP-date) and JSON `deliverAfter` / `expires` (seconds or RFC 3339). Consumer groups never hand
 * a message out before its time or after its expiry (an expired one is counted, not dead-lettered);
 * cursor readers see every entry at once, with the times as elements in the AtomMQ namespace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { claim, groupStatus, putGroup, sleep } from './support/groups-http.js';
import { entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

const AM_NS = 'http://atommq.org/ns/1.0';

eachStore('consumer groups: delayed and expiring messages', (kind) => {
  let server: TestServer;
  let url: string;
  let groups = 0;
  async function fresh(): Promise<string> {
    const name = `g${++groups}`;
    assert.equal((await putGroup(url, name, { start: 'latest' })).status, 201);
    return name;
  }
  before(async () => {
    server = await startTestServer({ jobs: { maxWait: 10 } }, {}, kind);
    url = server.feedUrl('jobs');
  });
  after(() => server.close());

  /** The entry at `seq` as a cursor reader gets it, in Atom: its am:deliver-after and am:expires. */
  async function atomTimes(seq: number): Promise<{ deliverAfter: string | undefined; expires: string | undefined }> {
    const xml = await (await fetch(`${url}?lastid=${seq - 1}&limit=1`)).text();
    const entry = new DOMParser().parseFromString(xml, 'application/xml').getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'entry')[0]!;
    const am = (name: string): string | undefined => entry.getElementsByTagNameNS(AM_NS, name)[0]?.textContent ?? undefined;
    return { deliverAfter: am('deliver-after'), expires: am('expires') };
  }

  test('AtomMQ-Deliver-After (seconds): cursor readers see it at once, with the time; a group hands it out once due, not before', async () => {
    const group = await fresh();
    const sent = Date.now();
    const res = await postAtom(url, entryXml('delayed'), { 'AtomMQ-Deliver-After': '2' });
    assert.equal(res.status, 201);
    const seq = Number(res.headers.get('xlastid'));
    const times = await atomTimes(seq);
    const due = Date.parse(times.deliverAfter!);
    assert.ok(due >= sent + 2000 && due <= Date.now() + 2000, `am:deliver-after ${times.deliverAfter} is 2 s after the POST`);
    assert.equal(times.expires, undefined);
    const page = await readJson(url, seq - 1);
    assert.equal(page.body.entries[0]?.deliverAfter, times.deliverAfter, 'the same time in JSON');

    assert.deepEqual((await claim(url, group)).messages, [], 'not before its time');
    const { messages } = await claim(url, group, { wait: 10 });
    assert.ok(Date.now() >= due, 'handed out once due');
    assert.deepEqual(messages.map((m) => [m.seq, m.deliverAfter]), [[seq, times.deliverAfter]]);
  });

  test('AtomMQ-Deliver-After as an HTTP-date', async () => {
    const group = await fresh();
    const date = new Date(Date.now() + 2000).toUTCString();
    const res = await postAtom(url, entryXml('at a date'), { 'AtomMQ-Deliver-After': date });
    assert.equal(res.status, 201);
    const seq = Number(res.headers.get('xlastid'));
    assert.equal(Date.parse((await atomTimes(seq)).deliverAfter!), Date.parse(date));
    const { messages } = await claim(url, group, { wait: 10 });
    assert.ok(Date.now() >= Date.parse(date), 'not before the date');
    assert.deepEqual(messages.map((m) => m.seq), [seq]);
  });

  test('AtomMQ-Expires: never handed out after its expiry; counted as expired, not dead-lettered; cursor readers still see it', async () => {
    const group = await fresh();
    const res = await postAtom(url, entryXml('perishable'), { 'AtomMQ-Expires': '1' });
    const seq = Number(res.headers.get('xlastid'));
    const times = await atomTimes(seq);
    assert.ok(times.expires !== undefined && times.deliverAfter === undefined);
    await sleep(Date.parse(times.expires) - Date.now() + 100);
    assert.deepEqual((await claim(url, group, { limit: 10 })).messages, []);
    const status = await groupStatus(url, group);
    assert.deepEqual([status.expired, status.dead, status.pending, status.lag], [1, 0, 0, 0]);
    assert.deepEqual((await readJson(url, seq - 1)).body.entries.map((e) => [e.seq, e.title, e.expires]), [[seq, 'perishable', times.expires]]);
  });

  test('JSON deliverAfter (seconds) and expires (RFC 3339): stored with the entry, honoured by groups', async () => {
    const group = await fresh();
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const res = await fetch(url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'json', content: { n: 1 }, deliverAfter: 1, expires }),
    });
    assert.equal(res.status, 201);
    const stored = (await res.json()) as { seq: number; deliverAfter: string; expires: string; content: unknown };
    assert.deepEqual([stored.expires, stored.content], [expires, { n: 1 }]);
    const times = await atomTimes(stored.seq);
    assert.deepEqual(times, { deliverAfter: stored.deliverAfter, expires });
    assert.deepEqual((await claim(url, group)).messages, []);
    const { messages } = await claim(url, group, { wait: 10 });
    assert.ok(Date.now() >= Date.parse(stored.deliverAfter));
    assert.deepEqual(messages.map((m) => [m.seq, m.expires]), [[stored.seq, expires]]);
  });

  test('a PUT keeps the entry\'s time and expiry: an edit neither brings it forward nor lets it outlive its expiry', async () => {
    const group = await fresh();
    const expiry = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
    const res = await postAtom(url, entryXml('draft'), { 'AtomMQ-Deliver-After': '2', 'AtomMQ-Expires': expiry.toUTCString() });
    assert.equal(res.status, 201);
    const expires = expiry.toISOString();
    const posted = await atomTimes(Number(res.headers.get('xlastid')));
    assert.equal(posted.expires, expires);
    const put = await fetch(String(res.headers.get('location')), { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml' }, body: entryXml('edited') });
    assert.equal(put.status, 200);
    const seq = Number(put.headers.get('xlastid'));
    assert.deepEqual(await atomTimes(seq), posted, 'the new version carries the same times');
    assert.deepEqual((await claim(url, group)).messages, [], 'not before its time, edit or not');
    const { messages } = await claim(url, group, { wait: 10 });
    assert.ok(Date.now() >= Date.parse(posted.deliverAfter!), 'handed out once due');
    assert.deepEqual(messages.map((m) => [m.seq, m.title, m.deliverAfter, m.expires]), [[seq, 'edited', posted.deliverAfter, expires]]);
  });

  test('a message that expires while it waits for its time is never handed out', async () => {
    const group = await fresh();
    await fetch(url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'too late', deliverAfter: 1, expires: 1.5 }),
    });
    assert.deepEqual((await claim(url, group)).messages, []);
    await sleep(1700);
    assert.deepEqual((await claim(url, group, { limit: 10 })).messages, []);
    assert.equal((await groupStatus(url, group)).expired, 1);
  });
});
