/**
 * Consumer-group claims over HTTP (DESIGN.md section 10): what a claim answers, in Atom and JSON,
 * and what wakes a claim held on an empty group: a commit, a nack's delay ending, a lease
 * expiring, a nack or requeue by another request, shutdown. A held claim must not poll the store:
 * the tests count the group writes (each claim is one) the store reports while claims are held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { validateFeed } from './support/atom-validator.js';
import { startAppServer, type AppServer } from './support/app-server.js';
import { ack, claim, GroupWrites, putGroup, settle, sleep, type ClaimAnswer } from './support/groups-http.js';
import { entryXml, postAtom, startTestServer } from './support/server.js';
import { consumers, eventually, publishMany } from './support/streams.js';

const AM_NS = 'http://atommq.org/ns/1.0';

describe('consumer groups over HTTP: claims', () => {
  let server: AppServer;
  let url: string;
  let writes: GroupWrites;
  let groups = 0;
  /** A group no other test uses, declared to start after what the feed holds so far. */
  async function fresh(settings: object = {}, feedUrl = url): Promise<string> {
    const name = `g${++groups}`;
    assert.equal((await putGroup(feedUrl, name, { start: 'latest', ...settings })).status, 201);
    return name;
  }
  before(async () => {
    server = await startAppServer({ jobs: { maxWait: 20 }, short: { maxWait: 1 } });
    url = server.feedUrl('jobs');
    writes = new GroupWrites(server.store);
  });
  after(() => server.close());

  /** Resolves once `count` requests (claims here) are held by the server's hub. */
  const held = (count = 1): Promise<void> => eventually(async () => (await consumers(server.url)) >= count, `${count} held claim(s)`);

  /**
   * Runs a claim that is held, then `during` while it is; asserts it claimed no more than `claims`
   * times in all (the first claim, and one per wake) and none during a quiet spell of `quietMs`.
   */
  async function heldClaim(group: string, during: () => Promise<unknown>, claims = 2, quietMs = 0): Promise<ClaimAnswer> {
    const start = writes.of(group);
    const waiting = claim(url, group, { wait: 20 });
    // Held once registered with the hub and its first claim found nothing.
    await held();
    await eventually(() => writes.of(group) > start, 'the first claim');
    const quiet = writes.of(group);
    await sleep(quietMs);
    assert.equal(writes.of(group), quiet, 'a held claim must not poll the store');
    await during();
    const answer = await waiting;
    const made = writes.of(group) - start;
    assert.ok(made <= claims, `the held claim claimed ${made} times, at most ${claims} expected`);
    assert.ok(answer.ms < 15_000, `answered when woken, not at the end of its 20 s wait (${answer.ms} ms)`);
    return answer;
  }

  test('curl -X POST …/claims?limit=10 -H "Prefer: wait=20": up to 10 leased messages, lowest seq first, in Atom', async () => {
    const group = await fresh();
    const seqs = await publishMany(url, 12, 4);
    const started = Date.now();
    const res = await fetch(`${url}/groups/${group}/claims?limit=10`, { method: 'POST', headers: { Prefer: 'wait=20' } });
    const xml = await res.text();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/atom\+xml;type=feed/);
    assert.equal(res.headers.get('preference-applied'), 'wait=20');
    assert.deepEqual(validateFeed(xml), []);
    const entries = [...new DOMParser().parseFromString(xml, 'application/xml').getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'entry')];
    const am = (entry: (typeof entries)[number], name: string): string => entry.getElementsByTagNameNS(AM_NS, name)[0]?.textContent ?? '';
    assert.deepEqual(entries.map((e) => Number(am(e, 'seq'))), seqs.slice(0, 10));
    for (const entry of entries) {
      assert.match(am(entry, 'receipt'), /\S/);
      assert.equal(am(entry, 'deliveries'), '1');
      const expires = Date.parse(am(entry, 'lease-expires'));
      assert.ok(expires >= started + 29_000 && expires <= Date.now() + 30_000, `lease-expires ${am(entry, 'lease-expires')} is the 30 s default lease`);
    }

    const rest = await fetch(`${url}/groups/${group}/claims?limit=10`, { method: 'POST', headers: { Accept: 'application/json' } });
    const json = (await rest.json()) as { feed: string; group: string; messages: Array<Record<string, unknown>> };
    assert.deepEqual([json.feed, json.group], ['jobs', group]);
    assert.deepEqual(json.messages.map((m) => m.seq), seqs.slice(10));
    for (const m of json.messages) {
      assert.deepEqual([typeof m.receipt, m.deliveries, typeof m.leaseExpires], ['string', 1, 'string']);
      assert.match(String(m.title), /^m\d+$/, 'the entry\'s own fields come with the delivery\'s');
    }
  });

  test('nothing available: the claim is held, without polling the store, until a commit brings a message', async () => {
    const group = await fresh();
    let seq = 0;
    const { messages } = await heldClaim(group, async () => {
      seq = Number((await postAtom(url, entryXml('wake up'))).headers.get('xlastid'));
    }, 2, 1000);
    assert.deepEqual(messages.map((m) => [m.seq, m.title, m.deliveries]), [[seq, 'wake up', 1]]);
    assert.equal((await ack(url, group, messages.map((m) => m.receipt))).status, 200);
  });

  test('the wait ends with an empty 200; Preference-Applied names the wait, capped by the feed maxWait', async () => {
    const short = server.feedUrl('short');
    const group = await fresh({}, short);
    const declared = writes.of(group);
    const answer = await claim(short, group, { headers: { Prefer: 'wait=600' } });
    assert.equal(answer.headers.get('preference-applied'), 'wait=1');
    assert.deepEqual(answer.messages, []);
    assert.ok(answer.ms >= 900, `held for its wait (${answer.ms} ms)`);
    const claims = writes.of(group) - declared;
    assert.ok(claims <= 2, `the first claim, and one more when the wait ended: ${claims}`);
    const plain = await claim(url, await fresh());
    assert.equal(plain.headers.get('preference-applied'), null, 'no wait asked, none applied: answered at once');
  });

  test("a nack's delay ending wakes a held claim: one timer, no polling", async () => {
    const group = await fresh();
    const [seq] = await publishMany(url, 1, 1);
    const [first] = (await claim(url, group)).messages;
    assert.equal((await settle(url, group, 'nacks', [first!.receipt], { delay: 2 })).status, 200);
    const { messages } = await heldClaim(group, () => Promise.resolve(), 2, 800);
    assert.deepEqual(messages.map((m) => [m.seq, m.deliveries]), [[seq, 2]]);
  });

  test('a lease expiring wakes a held claim, which gets the message as delivery 2', async () => {
    const group = await fresh();
    const [seq] = await publishMany(url, 1, 1);
    const [first] = (await claim(url, group, { lease: 2 })).messages;
    const { messages } = await heldClaim(group, () => Promise.resolve(), 2, 800);
    assert.deepEqual(messages.map((m) => [m.seq, m.deliveries]), [[seq, 2]]);
    assert.notEqual(messages[0]!.receipt, first!.receipt);
  });

  test('a delayed message coming due wakes a held claim on an empty group, not before its time', async () => {
    const group = await fresh();
    const posted = await postAtom(url, entryXml('later'), { 'AtomMQ-Deliver-After': '2' });
    const seq = Number(posted.headers.get('xlastid'));
    const { messages } = await heldClaim(group, () => Promise.resolve(), 2, 800);
    const received = Date.now();
    assert.deepEqual(messages.map((m) => [m.seq, m.deliveries]), [[seq, 1]]);
    assert.ok(received >= Date.parse(messages[0]!.deliverAfter as string), 'handed out once due, not before');
  });

  test('a nack (delay 0) by another request wakes a held claim at once, long before the lease would end', async () => {
    const group = await fresh();
    const [seq] = await publishMany(url, 1, 1);
    const [first] = (await claim(url, group)).messages;
    const { messages } = await heldClaim(group, async () => {
      assert.equal((await settle(url, group, 'nacks', [first!.receipt], { delay: 0 })).results[0]?.status, 'nacked');
    }, 3);
    assert.deepEqual(messages.map((m) => [m.seq, m.deliveries]), [[seq, 2]]);
  });

  test('a requeue of dead letters by another request wakes a held claim', async () => {
    const group = await fresh({ maxDeliveries: 1 });
    const [seq] = await publishMany(url, 1, 1);
    const [first] = (await claim(url, group)).messages;
    assert.equal((await settle(url, group, 'nacks', [first!.receipt])).results[0]?.status, 'dead-lettered');
    const { messages } = await heldClaim(group, async () => {
      const requeued = await fetch(`${url}/groups/${group}/dead/requeue`, { method: 'POST' });
      assert.deepEqual(await requeued.json(), { requeued: [seq], notDead: [] });
    }, 3, 300);
    assert.deepEqual(messages.map((m) => [m.seq, m.deliveries]), [[seq, 2]]);
  });

  test('a claim whose client leaves is dropped from the hub; the server keeps serving', async () => {
    const group = await fresh();
    const controller = new AbortController();
    const waiting = claim(url, group, { wait: 20, signal: controller.signal }).catch((e: unknown) => e);
    await held();
    controller.abort();
    await waiting;
    await eventually(async () => (await consumers(server.url)) === 0, 'the held claim to be dropped');
  });
});

describe('consumer groups over HTTP: shutdown', () => {
  test('shutdown answers held claims at once, with no messages', async () => {
    const server = await startTestServer({ jobs: { maxWait: 20 } });
    const url = server.feedUrl('jobs');
    const waiting = claim(url, 'g', { wait: 20 });
    await eventually(async () => (await consumers(server.url)) === 1, 'the claim to be held');
    await server.close();
    const { messages, ms } = await waiting;
    assert.deepEqual(messages, []);
    assert.ok(ms < 15_000, `answered at shutdown (${ms} ms)`);
  });
});
