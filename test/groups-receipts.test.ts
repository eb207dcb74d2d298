/**
 * Settling deliveries over HTTP (DESIGN.md section 10): acks, nacks and extensions by receipt,
 * fencing of expired leases (LEASE_LOST), dead letters and their requeue, a group's status,
 * declaration, move and removal, and what a group delivers of entries that are replaced or deleted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { validateFeed } from './support/atom-validator.js';
import { ack, claim, groupStatus, putGroup, settle, sleep } from './support/groups-http.js';
import { entryXml, postAtom, problemOf, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { publishMany } from './support/streams.js';

const AM_NS = 'http://atommq.org/ns/1.0';

describe('consumer groups over HTTP: receipts, dead letters, status', () => {
  let server: TestServer;
  let url: string;
  let groups = 0;
  async function fresh(settings: object = {}): Promise<string> {
    const name = `g${++groups}`;
    assert.equal((await putGroup(url, name, { start: 'latest', ...settings })).status, 201);
    return name;
  }
  before(async () => {
    server = await startTestServer({ jobs: {} });
    url = server.feedUrl('jobs');
  });
  after(() => server.close());

  test('a lease that expires is redelivered as delivery 2; an ack with the first receipt is 409 LEASE_LOST and changes nothing', async () => {
    const group = await fresh();
    const [seq] = await publishMany(url, 1, 1);
    const [first] = (await claim(url, group, { lease: 1 })).messages;
    assert.equal(first!.deliveries, 1);
    await sleep(Date.parse(first!.leaseExpires) - Date.now() + 50);
    const [second] = (await claim(url, group)).messages;
    assert.deepEqual([second!.seq, second!.deliveries], [seq, 2]);

    const stale = await ack(url, group, [first!.receipt]);
    assert.equal(stale.status, 409);
    assert.equal(stale.code, 'LEASE_LOST');
    assert.deepEqual(stale.results.map((r) => [r.receipt, r.status, r.code]), [[first!.receipt, 'refused', 'LEASE_LOST']]);
    const status = await groupStatus(url, group);
    assert.deepEqual([status.pending, status.ackFloor < seq!], [1, true], 'the message is still leased to the second delivery');

    assert.deepEqual((await ack(url, group, [second!.receipt])).results.map((r) => [r.seq, r.status]), [[seq, 'acked']]);
    const twice = await ack(url, group, [second!.receipt]);
    assert.equal(twice.status, 200, 'acking twice is harmless');
    assert.deepEqual(twice.results.map((r) => r.status), ['acked (repeated)']);
    assert.equal((await groupStatus(url, group)).ackFloor >= seq!, true);
  });

  test('each receipt of a batch is handled on its own: the first refusal sets the answer, the others are applied and listed', async () => {
    const group = await fresh();
    await publishMany(url, 2, 1);
    const [a, b] = (await claim(url, group, { limit: 2 })).messages;
    const res = await fetch(`${url}/groups/${group}/acks`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ receipts: [a!.receipt, 'not-a-receipt', b!.receipt] }),
    });
    assert.equal(res.status, 400);
    const problem = (await problemOf(res)) as unknown as { code: string; results: Array<{ status: string; code?: string }> };
    assert.equal(problem.code, 'RECEIPT_INVALID');
    assert.deepEqual(problem.results.map((r) => r.code ?? r.status), ['acked', 'RECEIPT_INVALID', 'acked']);
    assert.deepEqual([(await groupStatus(url, group)).pending], [0]);
  });

  test('form bodies as curl -d sends them: receipt= repeated, delay=, reason=, lease=', async () => {
    const group = await fresh();
    await publishMany(url, 3, 1);
    const [a, b, c] = (await claim(url, group, { limit: 3 })).messages;
    const form = (path: string, body: string): Promise<Response> => fetch(`${url}/groups/${group}/${path}`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
    });
    const extended = (await (await form('extensions', `receipt=${a!.receipt}&lease=120`)).json()) as { results: Array<{ status: string; leaseExpires: string }> };
    assert.equal(extended.results[0]?.status, 'extended');
    assert.ok(Date.parse(extended.results[0]!.leaseExpires) > Date.now() + 100_000, 'the lease now runs for 120 s from now');
    const nacked = (await (await form('nacks', `receipt=${b!.receipt}&delay=60&reason=${encodeURIComponent('no stock')}`)).json()) as { results: Array<{ status: string; availableAt: string }> };
    assert.equal(nacked.results[0]?.status, 'nacked');
    assert.ok(Date.parse(nacked.results[0]!.availableAt) > Date.now() + 50_000);
    const acked = (await (await form('acks', `receipt=${a!.receipt}&receipt=${c!.receipt}`)).json()) as { results: Array<{ status: string }> };
    assert.deepEqual(acked.results.map((r) => r.status), ['acked', 'acked']);
    const status = await groupStatus(url, group);
    assert.deepEqual([status.pending, status.waiting], [0, 1]);
  });

  test('dead letters: nacked maxDeliveries times, listed once with deliveries and reason, never delivered again until requeued', async () => {
    const group = await fresh({ maxDeliveries: 2 });
    const [seq] = await publishMany(url, 1, 1);
    for (const n of [1, 2]) {
      const [m] = (await claim(url, group)).messages;
      assert.deepEqual([m!.seq, m!.deliveries], [seq, n]);
      const nack = await settle(url, group, 'nacks', [m!.receipt], { delay: 0, reason: `failure ${n}` });
      assert.equal(nack.results[0]?.status, n === 2 ? 'dead-lettered' : 'nacked');
    }
    assert.deepEqual((await claim(url, group)).messages, [], 'a dead letter is not delivered');
    assert.equal((await groupStatus(url, group)).dead, 1);

    const page = (await (await fetch(`${url}/groups/${group}/dead?format=json`)).json()) as JsonPage;
    assert.deepEqual(page.entries.map((e) => [e.seq, e.deliveries, e.reason]), [[seq, 2, 'failure 2']]);
    const atom = await fetch(`${url}/groups/${group}/dead`);
    assert.equal(atom.headers.get('xlastid'), String(seq));
    const xml = await atom.text();
    assert.deepEqual(validateFeed(xml), []);
    const entry = new DOMParser().parseFromString(xml, 'application/xml').getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'entry')[0]!;
    const am = (name: string): string | null | undefined => entry.getElementsByTagNameNS(AM_NS, name)[0]?.textContent;
    assert.deepEqual([am('seq'), am('deliveries'), am('reason')], [String(seq), '2', 'failure 2']);

    const requeue = async (body: string): Promise<unknown> => (await fetch(`${url}/groups/${group}/dead/requeue`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
    })).json();
    assert.deepEqual(await requeue(JSON.stringify({ seqs: [seq] })), { requeued: [seq], notDead: [] });
    const again = (await claim(url, group, { limit: 10 })).messages;
    assert.deepEqual(again.map((m) => [m.seq, m.deliveries]), [[seq, 3]], 'delivered once more');
    assert.equal((await ack(url, group, [again[0]!.receipt])).status, 200);
    assert.deepEqual(await requeue(JSON.stringify({ seqs: [seq] })), { requeued: [], notDead: [seq] });
    assert.deepEqual(((await (await fetch(`${url}/groups/${group}/dead?format=json`)).json()) as JsonPage).entries, []);
  });

  test('the dead-letter feed pages in the cursor view: limit, rel="next", Xlastid, ?lastid=', async () => {
    const group = await fresh({ maxDeliveries: 1 });
    const seqs = await publishMany(url, 3, 1);
    const claimed = (await claim(url, group, { limit: 3 })).messages;
    await settle(url, group, 'nacks', claimed.map((m) => m.receipt));
    const first = await fetch(`${url}/groups/${group}/dead?limit=2&format=json`);
    const page = (await first.json()) as JsonPage;
    assert.deepEqual(page.entries.map((e) => e.seq), seqs.slice(0, 2));
    assert.equal(first.headers.get('xlastid'), String(seqs[1]));
    assert.match(first.headers.get('link') ?? '', new RegExp(`/groups/${group}/dead\\?lastid=${seqs[1]}&limit=2&format=json>; rel="next"`));
    const rest = (await (await fetch(page.next!)).json()) as JsonPage;
    assert.deepEqual(rest.entries.map((e) => e.seq), seqs.slice(2));
    assert.equal(rest.next, null);
    const byHeader = (await (await fetch(`${url}/groups/${group}/dead?format=json`, { headers: { Xlastid: String(seqs[2]) } })).json()) as JsonPage;
    assert.deepEqual(byHeader.entries, []);
  });

  test('status, list, declare (201), update (200), move, delete (204, then 404 GROUP_NOT_FOUND)', async () => {
    const group = await fresh({ leaseSeconds: 12, maxDeliveries: 7 });
    const seqs = await publishMany(url, 3, 1);
    const status = await groupStatus(url, group);
    assert.deepEqual(
      [status.feed, status.group, status.leaseSeconds, status.maxDeliveries, status.start, status.lag, status.pending, status.dead, status.expired],
      ['jobs', group, 12, 7, 'latest', 3, 0, 0, 0]);
    assert.equal(typeof status.oldestUnackedSeconds, 'number');
    const updated = await putGroup(url, group, { leaseSeconds: 20 });
    assert.deepEqual([updated.status, updated.body.leaseSeconds, updated.body.maxDeliveries], [200, 20, 7]);
    const moved = await putGroup(url, group, { position: seqs[1] });
    assert.deepEqual([moved.status, moved.body.position, moved.body.lag], [200, seqs[1], 1]);
    assert.deepEqual((await claim(url, group, { limit: 10 })).messages.map((m) => m.seq), seqs.slice(2));

    const list = (await (await fetch(`${url}/groups`)).json()) as { feed: string; groups: Array<{ group: string }> };
    assert.equal(list.feed, 'jobs');
    assert.ok(list.groups.some((g) => g.group === group));
    assert.equal((await fetch(`${url}/groups/${group}`, { method: 'DELETE' })).status, 204);
    const gone = await fetch(`${url}/groups/${group}`);
    assert.deepEqual([gone.status, (await problemOf(gone)).code], [404, 'GROUP_NOT_FOUND']);
    const again = await fetch(`${url}/groups/${group}`, { method: 'DELETE' });
    assert.deepEqual([again.status, (await problemOf(again)).code], [404, 'GROUP_NOT_FOUND']);
  });

  test('replaced and deleted entries: no tombstone delivered, an entry deleted before its claim skipped, a replaced one in its latest revision', async () => {
    const group = await fresh();
    const post = async (slug: string): Promise<number> => Number((await postAtom(url, entryXml(slug), { Slug: slug })).headers.get('xlastid'));
    const kept = await post(`kept-${group}`);
    await post(`deleted-${group}`);
    await post(`replaced-${group}`);
    assert.equal((await fetch(`${url}/entries/deleted-${group}`, { method: 'DELETE' })).status, 204);
    const put = await fetch(`${url}/entries/replaced-${group}`, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml' }, body: entryXml('revision 2') });
    const replaced = Number(put.headers.get('xlastid'));
    const messages = (await claim(url, group, { limit: 10 })).messages;
    assert.deepEqual(messages.map((m) => [m.seq, m.title]), [[kept, `kept-${group}`], [replaced, 'revision 2']]);
    assert.deepEqual((await claim(url, group, { limit: 10 })).messages, [], 'each delivered once');
  });
});
