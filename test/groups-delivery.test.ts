/**
 * Consumer groups in the store: what a group delivers (latest revisions, no tombstones, delayed and
 * expiring messages), where it starts and how it moves, its status, a restart, and bad input.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { outcomes, publish, rejectsWith, revision, seqsOf, sleepUntil, StoreScope } from './support/groups.js';
import { eachStore } from './support/postgres.js';

eachStore('consumer groups: what is delivered', (kind) => {
  const scope = new StoreScope(kind);
  before(scope.open);
  after(scope.cleanUp);

  test('tombstones are not delivered, a deleted entry is skipped, a replaced one comes in its latest revision', async () => {
    const { store } = scope;
    const ref = { feed: 'changes', group: 'g' };
    const [a, , , d] = await publish(store, ref.feed, 4);
    await store.remove({ feed: ref.feed, key: 'm1', revision: revision('m1-tombstone') });
    const replaced = await store.replace({ feed: ref.feed, key: 'm2', revision: revision('m2-v2') });
    const first = (await store.groups.claim({ ...ref, limit: 10 })).messages;
    assert.deepEqual(seqsOf(first), [a, d, replaced.seq]);
    assert.ok(first[2]!.xml.includes('m2-v2'));

    // A leased entry replaced meanwhile: its receipt still settles that delivery, and the new revision comes once.
    const moved = await store.replace({ feed: ref.feed, key: 'm0', revision: revision('m0-v2') });
    await store.remove({ feed: ref.feed, key: 'm3', revision: revision('m3-tombstone') });
    assert.deepEqual(outcomes((await store.groups.ack({ ...ref, receipts: [first[0]!.receipt] })).results), ['acked']);
    const second = (await store.groups.claim({ ...ref, limit: 10 })).messages;
    assert.deepEqual(seqsOf(second), [moved.seq]);
    assert.ok(second[0]!.json.includes('m0-v2'));
  });

  test('a leased message whose entry is deleted is not delivered again when its lease ends', { timeout: 10_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'gone', group: 'g' };
    await publish(store, ref.feed, 1);
    const [m] = (await store.groups.claim({ ...ref, limit: 1, leaseSeconds: 1 })).messages;
    await store.remove({ feed: ref.feed, key: 'm0', revision: revision('m0-tombstone') });
    await sleepUntil(m!.leaseExpires);
    assert.deepEqual((await store.groups.claim({ ...ref, limit: 1 })).messages, []);
    const status = await store.groups.status(ref);
    assert.deepEqual([status.pending, status.waiting, status.dead, status.lag], [0, 0, 0, 0]);
  });

  test('a claim passes over a bounded number of rows it cannot deliver, then answers that the group is due again at once', async () => {
    const { store } = scope;
    const ref = { feed: 'skips', group: 'g' };
    const far = Date.now() + 3600_000;
    await Promise.all(Array.from({ length: 6 }, (_, p) => publish(store, ref.feed, 250, `d${p}-`, { deliverAfter: far })));
    const [ready] = await publish(store, ref.feed, 1, 'ready');
    const first = await store.groups.claim({ ...ref, limit: 10 });
    assert.deepEqual(first.messages, [], '1,500 delayed messages lie before the ready one: more than one claim looks at');
    assert.ok(first.nextDue! <= Date.now());
    assert.deepEqual(seqsOf((await store.groups.claim({ ...ref, limit: 10 })).messages), [ready]);
    assert.equal((await store.groups.status(ref)).lag, 1500);
  });

  test('start "earliest" takes the whole log, "latest" only what is published after the group exists', async () => {
    const { store } = scope;
    const feed = 'starts';
    const old = await publish(store, feed, 2, 'old');
    const late = await store.groups.declare({ feed, group: 'late' }, { start: 'latest' });
    assert.equal(late.position, old[1]);
    const fresh = await publish(store, feed, 1, 'new');
    assert.deepEqual(seqsOf((await store.groups.claim({ feed, group: 'late', limit: 10 })).messages), fresh);
    const early = await store.groups.claim({ feed, group: 'early', limit: 10 });
    assert.equal(early.created, true, 'the first claim creates the group');
    assert.deepEqual(seqsOf(early.messages), [...old, ...fresh]);
    assert.deepEqual((await store.groups.list(feed)).map((g) => [g.group, g.settings.start, g.pending]), [['early', 'earliest', 3], ['late', 'latest', 1]]);
  });

  test('move sets the position (back: acked messages come again; forward: skipped); delete forgets the group', async () => {
    const { store } = scope;
    const ref = { feed: 'moves', group: 'g' };
    const seqs = await publish(store, ref.feed, 3);
    const first = (await store.groups.claim({ ...ref, limit: 2 })).messages;
    await store.groups.ack({ ...ref, receipts: [first[0]!.receipt] });
    const back = await store.groups.move({ ...ref, position: 'earliest' });
    assert.equal(back.position, 0);
    // seq 1 was acked: delivered again. seq 2 is still leased: not twice.
    assert.deepEqual(seqsOf((await store.groups.claim({ ...ref, limit: 10 })).messages), [seqs[0], seqs[2]]);
    assert.equal((await store.groups.move({ ...ref, position: 'latest' })).position, seqs[2]);
    await rejectsWith(store.groups.move({ ...ref, position: seqs[2]! + 1 }), 'INVALID_PARAMETER', 'a position beyond the newest seq');
    await store.groups.move({ ...ref, position: seqs[1]! });
    assert.equal((await store.groups.status(ref)).position, seqs[1]);

    await store.groups.remove(ref);
    await rejectsWith(store.groups.status(ref), 'GROUP_NOT_FOUND', 'status of a deleted group');
    await rejectsWith(store.groups.ack({ ...ref, receipts: [first[1]!.receipt] }), 'GROUP_NOT_FOUND', 'ack on a deleted group');
    await rejectsWith(store.groups.remove(ref), 'GROUP_NOT_FOUND', 'deleting twice');
    const reborn = await store.groups.claim({ ...ref, limit: 10 });
    assert.deepEqual(seqsOf(reborn.messages), seqs, 'a new group of the same name starts afresh');
    assert.deepEqual(outcomes((await store.groups.ack({ ...ref, receipts: [first[1]!.receipt] })).results), ['RECEIPT_INVALID'],
      'a receipt of the deleted group is not one of the new group');
  });

  test('deliverAfter holds a message back until then; an expired message is never delivered, only counted', { timeout: 10_000 }, async () => {
    const { store } = scope;
    const ref = { feed: 'timed', group: 'g' };
    const deliverAfter = Date.now() + 1200;
    const [later] = await publish(store, ref.feed, 1, 'later', { deliverAfter });
    await publish(store, ref.feed, 1, 'short', { expires: Date.now() + 400 });
    const [nowSeq] = await publish(store, ref.feed, 1, 'now');
    const [dies] = await publish(store, ref.feed, 1, 'dies', { expires: Date.now() + 1000 });
    await sleepUntil(Date.now() + 400);

    const first = await store.groups.claim({ ...ref, limit: 1 });
    assert.deepEqual(seqsOf(first.messages), [nowSeq]);
    const second = await store.groups.claim({ ...ref, limit: 1 });
    assert.deepEqual(seqsOf(second.messages), [dies]);
    // `dies` expires while it waits out its nack delay.
    const nacked = (await store.groups.nack({ ...ref, receipts: [second.messages[0]!.receipt], delaySeconds: 1 })).results[0]!;
    const empty = await store.groups.claim({ ...ref, limit: 10 });
    assert.deepEqual(empty.messages, []);
    assert.equal(empty.nextDue, deliverAfter, 'next due: the delayed message');
    let status = await store.groups.status(ref);
    assert.deepEqual([status.expired, status.lag], [1, 1], 'the expired one is counted; the delayed one is not delivered yet');

    await sleepUntil(deliverAfter);
    assert.deepEqual(seqsOf((await store.groups.claim({ ...ref, limit: 10 })).messages), [later]);
    assert.ok(nacked.ok);
    await sleepUntil(nacked.availableAt!);
    assert.deepEqual((await store.groups.claim({ ...ref, limit: 10 })).messages, []);
    status = await store.groups.status(ref);
    assert.deepEqual([status.expired, status.lag, status.pending, status.waiting], [2, 0, 2, 0], 'pending: `now` and `later`');
  });
});

eachStore('consumer groups: status, restart, bad input', (kind) => {
  const scope = new StoreScope(kind);
  before(scope.open);
  after(scope.cleanUp);

  test('status: position, pending, ack floor, lag, oldest unacked age', async () => {
    const { store } = scope;
    const ref = { feed: 'figures', group: 'g' };
    const seqs = await publish(store, ref.feed, 5);
    const [a, b] = (await store.groups.claim({ ...ref, limit: 2 })).messages;
    let status = await store.groups.status(ref);
    assert.deepEqual([status.position, status.pending, status.lag, status.ackFloor], [seqs[1], 2, 3, seqs[0]! - 1]);
    assert.ok(status.oldestUnackedMs !== undefined && status.oldestUnackedMs >= 0);
    await store.groups.ack({ ...ref, receipts: [b!.receipt] });
    assert.equal((await store.groups.status(ref)).ackFloor, seqs[0]! - 1, 'an unacked lower seq holds the floor');
    await store.groups.ack({ ...ref, receipts: [a!.receipt] });
    status = await store.groups.status(ref);
    assert.deepEqual([status.ackFloor, status.pending, status.lag], [seqs[1], 0, 3]);
    assert.equal(status.nextDue! <= Date.now(), true, 'undelivered messages: due now');
  });

  test('a restart keeps acked and leased state: nothing acked comes back, a lease runs to its end', { timeout: 10_000 }, async () => {
    const ref = { feed: 'restart', group: 'g' };
    const seqs = await publish(scope.store, ref.feed, 3);
    const [a, b] = (await scope.store.groups.claim({ ...ref, limit: 2, leaseSeconds: 1 })).messages;
    await scope.store.groups.ack({ ...ref, receipts: [a!.receipt] });

    const store = await scope.reopen();
    const status = await store.groups.status(ref);
    assert.deepEqual([status.position, status.pending, status.ackFloor], [seqs[1], 1, seqs[0]]);
    assert.deepEqual(seqsOf((await store.groups.claim({ ...ref, limit: 10 })).messages), [seqs[2]], 'b is still leased');
    await sleepUntil(b!.leaseExpires);
    const again = (await store.groups.claim({ ...ref, limit: 10 })).messages;
    assert.deepEqual(again.map((m) => [m.seq, m.deliveries]), [[seqs[1], 2]]);
    assert.deepEqual(outcomes((await store.groups.ack({ ...ref, receipts: [a!.receipt, b!.receipt, again[0]!.receipt] })).results),
      ['acked (repeated)', 'LEASE_LOST', 'acked']);
  });

  test('bad input is INVALID_PARAMETER naming the field; unknown groups GROUP_NOT_FOUND; foreign receipts RECEIPT_INVALID', async () => {
    const { groups } = scope.store;
    const feed = 'bad';
    const ref = { feed, group: 'g' };
    for (const limit of [0, -1, 1001, 1.5, Number.NaN]) await rejectsWith(groups.claim({ ...ref, limit }), 'INVALID_PARAMETER', `limit ${limit}`);
    for (const group of ['', 'Upper', 'a/b', 'x'.repeat(65), 'tab\t']) await rejectsWith(groups.claim({ feed, group, limit: 1 }), 'INVALID_PARAMETER', `group ${group}`);
    for (const leaseSeconds of [0, -5, 43_201]) await rejectsWith(groups.claim({ ...ref, limit: 1, leaseSeconds }), 'INVALID_PARAMETER', `lease ${leaseSeconds}`);
    await rejectsWith(groups.declare(ref, { maxDeliveries: 0 }), 'INVALID_PARAMETER', 'maxDeliveries 0');
    await rejectsWith(groups.declare(ref, { start: 'middle' as 'latest' }), 'INVALID_PARAMETER', 'start "middle"');
    await rejectsWith(groups.status(ref), 'GROUP_NOT_FOUND', 'a group nobody created');
    await rejectsWith(groups.ack({ ...ref, receipts: ['x'] }), 'GROUP_NOT_FOUND', 'ack on a group nobody created');

    await publish(scope.store, feed, 1);
    const [m] = (await groups.claim({ ...ref, limit: 1 })).messages;
    await rejectsWith(groups.ack({ ...ref, receipts: [] }), 'INVALID_PARAMETER', 'no receipts');
    await rejectsWith(groups.ack({ ...ref, receipts: Array(1001).fill(m!.receipt) }), 'INVALID_PARAMETER', '1001 receipts');
    for (const delaySeconds of [-1, 43_201]) await rejectsWith(groups.nack({ ...ref, receipts: [m!.receipt], delaySeconds }), 'INVALID_PARAMETER', `delay ${delaySeconds}`);
    await rejectsWith(groups.extend({ ...ref, receipts: [m!.receipt], leaseSeconds: 0 }), 'INVALID_PARAMETER', 'extend by 0');
    await rejectsWith(groups.move({ ...ref, position: -1 }), 'INVALID_PARAMETER', 'position -1');
    await rejectsWith(groups.requeue({ ...ref, seqs: [0] }), 'INVALID_PARAMETER', 'requeue seq 0');
    await rejectsWith(groups.readDead(ref, 0, 0), 'INVALID_PARAMETER', 'dead page of 0');

    await groups.claim({ feed, group: 'other', limit: 1 });
    const other = { feed, group: 'other', receipts: [m!.receipt, 'garbage', `${m!.receipt}x`] };
    assert.deepEqual(outcomes((await groups.ack(other)).results), ['RECEIPT_INVALID', 'RECEIPT_INVALID', 'RECEIPT_INVALID']);
    assert.equal((await groups.status(ref)).pending, 1, 'refused receipts changed nothing');
  });
});
