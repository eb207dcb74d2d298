/**
 * Consumer groups in the store (DESIGN.md section 10): leases, acks, nacks, expiry, dead letters.
 * A real SqliteStore on a temp file, with its writer thread; where time matters, real leases and
 * delays of a second or so. Each test uses its own feed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClaimedMessage } from '../src/store/groups.js';
import { outcomes, publish, seqsOf, sleepUntil, StoreScope } from './support/groups.js';
import { eachStore } from './support/postgres.js';

eachStore('consumer groups: leases', (kind) => {
  const scope = new StoreScope(kind);
  before(scope.open);
  after(scope.cleanUp);

  test('8 concurrent claim loops over 2,000 messages: each is leased once at a time and acked exactly once', { timeout: 60_000 }, async () => {
    const { store } = scope;
    const feed = 'busy';
    const seqs = await Promise.all(Array.from({ length: 2000 }, (_, i) =>
      store.append({ feed, candidates: [{ key: `k${i}`, revision: { atomId: `urn:uuid:${i}`, published: '', edited: new Date().toISOString(), xml: '', json: '' } }] })
        .then((r) => r.entry.seq)));
    const leased = new Map<number, string>();
    const acked = new Map<number, number>();
    let claims = 0;
    const worker = async (w: number): Promise<void> => {
      for (;;) {
        const { messages } = await store.groups.claim({ feed, group: 'workers', limit: 1 + ((w * 7 + claims++) % 25) });
        if (messages.length === 0) return;
        for (const m of messages) {
          assert.equal(leased.get(m.seq), undefined, `seq ${m.seq} leased to two claims at once`);
          assert.equal(m.deliveries, 1, `seq ${m.seq} delivered again although its lease was live`);
          leased.set(m.seq, m.receipt);
        }
        const { results } = await store.groups.ack({ feed, group: 'workers', receipts: messages.map((m) => m.receipt) });
        results.forEach((r, i) => {
          const seq = messages[i]!.seq;
          assert.ok(r.ok && r.state === 'acked' && !r.repeated, `ack of seq ${seq}: ${JSON.stringify(r)}`);
          leased.delete(seq);
          acked.set(seq, (acked.get(seq) ?? 0) + 1);
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.equal(acked.size, 2000);
    assert.deepEqual([...acked.keys()].sort((a, b) => a - b), [...seqs].sort((a, b) => a - b));
    assert.ok([...acked.values()].every((n) => n === 1), 'every message acked exactly once');
    const status = await store.groups.status({ feed, group: 'workers' });
    assert.deepEqual([status.pending, status.waiting, status.lag, status.dead], [0, 0, 0, 0]);
    assert.equal(status.ackFloor, Math.max(...seqs));
    assert.equal(status.position, Math.max(...seqs));
  });

  test('consumers that drop messages: a message is leased again only once its lease ended, and still ends acked once', { timeout: 30_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'droppy', group: 'g' };
    const seqs = (await Promise.all(Array.from({ length: 4 }, (_, p) => publish(store, ref.feed, 50, `p${p}-`)))).flat();
    await store.groups.declare(ref, { leaseSeconds: 2 });
    const leaseEnds = new Map<number, number>();
    const deliveries = new Map<number, number>();
    const acked = new Map<number, number>();
    const worker = async (): Promise<void> => {
      for (;;) {
        const { messages, nextDue } = await store.groups.claim({ ...ref, limit: 7 });
        if (messages.length === 0) {
          if (nextDue === undefined) return;
          await sleepUntil(nextDue);
          continue;
        }
        for (const m of messages) {
          const previous = leaseEnds.get(m.seq);
          assert.ok(previous === undefined || m.leaseExpires - 2000 >= previous, `seq ${m.seq} leased again before its lease ended`);
          leaseEnds.set(m.seq, m.leaseExpires);
          deliveries.set(m.seq, m.deliveries);
        }
        // Every third message is dropped on its first delivery, as by a consumer that died holding it.
        const kept = messages.filter((m) => m.deliveries > 1 || m.seq % 3 !== 0);
        if (kept.length === 0) continue;
        const { results } = await store.groups.ack({ ...ref, receipts: kept.map((m) => m.receipt) });
        for (const r of results) if (r.ok && !r.repeated) acked.set(r.seq, (acked.get(r.seq) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 4 }, () => worker()));
    assert.deepEqual([...acked.keys()].sort((a, b) => a - b), seqs.sort((a, b) => a - b));
    assert.ok([...acked.values()].every((n) => n === 1), 'every message acked exactly once');
    const dropped = seqs.filter((seq) => seq % 3 === 0);
    assert.ok(dropped.length > 0 && dropped.every((seq) => deliveries.get(seq)! >= 2), 'the dropped ones were redelivered');
  });

  test('a lease that ends redelivers with deliveries 2; the first receipt is then LEASE_LOST and changes nothing', { timeout: 10_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'expiry', group: 'g' };
    const [seq] = await publish(store, ref.feed, 1);
    await store.groups.declare(ref, { leaseSeconds: 1 });
    const first = (await store.groups.claim({ ...ref, limit: 10 })).messages;
    assert.deepEqual(first.map((m) => [m.seq, m.deliveries]), [[seq, 1]]);
    const hidden = await store.groups.claim({ ...ref, limit: 10 });
    assert.deepEqual(hidden.messages, [], 'a leased message is invisible to other claims');
    assert.equal(hidden.nextDue, first[0]!.leaseExpires, 'the group is next due when the lease ends');

    await sleepUntil(first[0]!.leaseExpires);
    const second = (await store.groups.claim({ ...ref, limit: 10 })).messages;
    assert.deepEqual(second.map((m) => [m.seq, m.deliveries]), [[seq, 2]]);
    assert.notEqual(second[0]!.receipt, first[0]!.receipt);

    const stale = { ...ref, receipts: [first[0]!.receipt] };
    assert.deepEqual(outcomes((await store.groups.ack(stale)).results), ['LEASE_LOST']);
    assert.deepEqual(outcomes((await store.groups.nack(stale)).results), ['LEASE_LOST']);
    assert.deepEqual(outcomes((await store.groups.extend(stale)).results), ['LEASE_LOST']);
    const status = await store.groups.status(ref);
    assert.equal(status.pending, 1, 'the second delivery still holds its lease');

    const current = { ...ref, receipts: [second[0]!.receipt] };
    assert.deepEqual(outcomes((await store.groups.ack(current)).results), ['acked']);
    assert.deepEqual(outcomes((await store.groups.ack(current)).results), ['acked (repeated)'], 'acking twice is a success');
    assert.equal((await store.groups.status(ref)).pending, 0);
  });

  test('a lease that ended but was not claimed again still holds its message: ack and extend succeed', { timeout: 10_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'slow', group: 'g' };
    await publish(store, ref.feed, 2);
    const [a, b] = (await store.groups.claim({ ...ref, limit: 2, leaseSeconds: 1 })).messages as [ClaimedMessage, ClaimedMessage];
    await sleepUntil(a.leaseExpires);
    assert.deepEqual(outcomes((await store.groups.ack({ ...ref, receipts: [a.receipt] })).results), ['acked']);
    const before = Date.now();
    const extended = (await store.groups.extend({ ...ref, receipts: [b.receipt], leaseSeconds: 5 })).results[0]!;
    assert.ok(extended.ok && extended.state === 'leased' && extended.leaseExpires! >= before + 5000);
    assert.deepEqual((await store.groups.claim({ ...ref, limit: 2 })).messages, [], 'extended: not redelivered');
  });

  test('nack with a delay hides the message until then; without one, the delay grows with deliveries', { timeout: 10_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'nacks', group: 'g' };
    const [seq] = await publish(store, ref.feed, 1);
    const changes: Array<number | undefined> = [];
    store.groups.onChange((c) => { if (c.feed === ref.feed) changes.push(c.nextDue); });
    const [m1] = (await store.groups.claim({ ...ref, limit: 1 })).messages;
    const before = Date.now();
    const nacked = await store.groups.nack({ ...ref, receipts: [m1!.receipt], delaySeconds: 1, reason: 'busy' });
    const answer = nacked.results[0]!;
    assert.ok(answer.ok && answer.state === 'waiting');
    assert.ok(answer.availableAt! >= before + 1000 && answer.availableAt! <= Date.now() + 1000);
    assert.equal(nacked.nextDue, answer.availableAt, 'the nack says when the group is next due');
    assert.equal(changes.at(-1), answer.availableAt, 'and so do the change listeners');
    assert.deepEqual(outcomes((await store.groups.nack({ ...ref, receipts: [m1!.receipt] })).results), ['waiting (repeated)']);
    assert.deepEqual((await store.groups.claim({ ...ref, limit: 1 })).messages, []);
    assert.equal(await store.groups.nextDue(ref), answer.availableAt);

    await sleepUntil(answer.availableAt!);
    const [m2] = (await store.groups.claim({ ...ref, limit: 1 })).messages;
    assert.deepEqual([m2!.seq, m2!.deliveries], [seq, 2]);
    const start = Date.now();
    const backoff = (await store.groups.nack({ ...ref, receipts: [m2!.receipt] })).results[0]!;
    assert.ok(backoff.ok && backoff.availableAt! >= start + 2000 && backoff.availableAt! <= Date.now() + 2000,
      'the default delay after the second delivery is 2 s');
    const status = await store.groups.status(ref);
    assert.deepEqual([status.pending, status.waiting, status.ackFloor], [0, 1, seq! - 1]);
  });

  test('after maxDeliveries a message is dead-lettered once, with the last nack reason; requeue puts it back', { timeout: 15_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'dead', group: 'g' };
    const [a, b, c] = await publish(store, ref.feed, 3);
    await store.groups.declare(ref, { maxDeliveries: 2, leaseSeconds: 1 });
    const deliver = async (): Promise<readonly ClaimedMessage[]> => (await store.groups.claim({ ...ref, limit: 10 })).messages;
    const nackAll = async (messages: readonly ClaimedMessage[], reason: string): Promise<string[]> =>
      outcomes((await store.groups.nack({ ...ref, receipts: messages.map((m) => m.receipt), delaySeconds: 0, reason })).results);

    assert.deepEqual(await nackAll(await deliver(), 'first'), ['waiting', 'waiting', 'waiting']);
    const second = await deliver();
    assert.deepEqual(second.map((m) => m.deliveries), [2, 2, 2]);
    // a: nacked at its last delivery; b: its last lease ends; c: acked.
    assert.deepEqual(await nackAll([second[0]!], 'last'), ['dead']);
    await store.groups.ack({ ...ref, receipts: [second[2]!.receipt] });
    await sleepUntil(second[1]!.leaseExpires);
    let status = await store.groups.status(ref);
    assert.deepEqual([status.dead, status.pending, status.waiting], [2, 0, 0], 'a lease ended at the last delivery counts as dead at once');
    assert.deepEqual(await deliver(), [], 'dead messages are not delivered');
    status = await store.groups.status(ref);
    assert.equal(status.dead, 2, 'the claim that dead-lettered b counted it once');
    assert.equal(status.ackFloor, c, 'dead messages do not hold the ack floor back');
    const dead = await store.groups.readDead(ref, 0, 10);
    assert.deepEqual(dead.map((d) => [d.seq, d.deliveries, d.reason]), [[a, 2, 'last'], [b, 2, 'first']]);
    assert.ok(dead[0]!.xml.includes('m0') && dead[0]!.json.includes('m0'), 'the dead list carries the entries');
    assert.deepEqual((await store.groups.readDead(ref, a!, 10)).map((d) => d.seq), [b], 'paged by seq');

    const one = await store.groups.requeue({ ...ref, seqs: [a!, c!, 999_999] });
    assert.deepEqual([one.requeued, one.notDead], [[a], [c, 999_999]]);
    const again = await deliver();
    assert.deepEqual(again.map((m) => [m.seq, m.deliveries]), [[a, 3]]);
    assert.deepEqual(await nackAll(again, 'still'), ['waiting'], 'a requeued message gets maxDeliveries more deliveries');
    assert.deepEqual((await store.groups.requeue(ref)).requeued, [b], 'requeue without seqs: every dead message');
    const rest = await deliver();
    assert.deepEqual(rest.map((m) => m.seq), [a, b]);
    await store.groups.ack({ ...ref, receipts: rest.map((m) => m.receipt) });
    status = await store.groups.status(ref);
    assert.deepEqual([status.dead, status.pending, status.waiting, status.ackFloor], [0, 0, 0, c]);
    assert.deepEqual(seqsOf(await deliver()), []);
  });
});
