/**
 * What the queue faces (RestMQ, QST) add to the Store interface, on each kind of store: batches
 * stored all or nothing, queue records, and a purge.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AtomMQError } from '../src/errors/index.js';
import type { Revision, Store } from '../src/store/store.js';
import { eachStore } from './support/postgres.js';
import { StoreScope } from './support/stores.js';

function revision(text: string): Revision {
  const edited = new Date().toISOString();
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}`, json: `"t":"${text}"` };
}

eachStore('store: what the queue faces add', (kind) => {
  const scope = new StoreScope(kind);
  let store: Store;
  before(async () => {
    store = await scope.open();
  });
  after(scope.cleanUp);

  const message = (feed: string, id: string, text = id) => ({
    feed, candidates: [{ key: `k-${id}-${text}`, revision: revision(text) }], retry: { clientId: id, fingerprint: text },
  });

  test('a batch is all or nothing: a refused message takes the batch back, and leaves the writes committed with it', async () => {
    await store.append(message('batch', 'taken', 'first'));
    const commits: number[] = [];
    store.onCommit((changes) => commits.push(changes.length));
    const [batch, single] = await Promise.allSettled([
      store.appendBatch(['a', 'b', 'taken', 'c'].map((id) => message('batch', id))),
      store.append(message('batch', 'alone')),
    ]);
    assert.equal(batch.status, 'rejected');
    const error = (batch as PromiseRejectedResult).reason as AtomMQError;
    assert.equal(error.code, 'IDEMPOTENCY_CONFLICT');
    assert.match(error.message, /^message 3 of 4: /);
    assert.equal(single.status, 'fulfilled');
    const stored = (await store.readAfter('batch', 0, { limit: 10 })).changes.map((c) => c.json);
    assert.deepEqual(stored, ['"t":"first"', '"t":"alone"']);
    assert.deepEqual(commits, [1], 'the commit carried only the single append');
  });

  test('a batch retried stores nothing new: each message answers the entry stored the first time', async () => {
    const first = await store.appendBatch(['x', 'y'].map((id) => message('retry', id)));
    const again = await store.appendBatch(['x', 'y', 'z'].map((id) => message('retry', id)));
    assert.deepEqual(again.map((r) => r.created), [false, false, true]);
    assert.deepEqual(again.slice(0, 2).map((r) => r.entry.seq), first.map((r) => r.entry.seq));
    assert.ok((again[2]?.entry.seq ?? 0) > (first[1]?.entry.seq ?? 0));
  });

  test('queue records: created on first use (for good), a policy set and dropped, stopped; kept across a reopen', async () => {
    assert.deepEqual(await store.queues.update({ name: 'q', autoCreated: true }), { name: 'q', autoCreated: true, policy: undefined, stopped: false });
    assert.deepEqual(await store.queues.update({ name: 'q', policy: 'roundrobin', stopped: true }), { name: 'q', autoCreated: true, policy: 'roundrobin', stopped: true });
    await store.queues.update({ name: 'q', policy: null });
    await store.queues.update({ name: 'file', policy: 'broadcast' });
    await assert.rejects(store.queues.update({ name: 'Bad Name' }), { code: 'INVALID_PARAMETER' });
    await assert.rejects(store.queues.update({ name: 'q', policy: 'random' as never }), { code: 'INVALID_PARAMETER' });
    store = await scope.reopen();
    assert.deepEqual(await store.queues.list(), [
      { name: 'file', autoCreated: false, policy: 'broadcast', stopped: false },
      { name: 'q', autoCreated: true, policy: undefined, stopped: true },
    ]);
  });

  test('a group moved with discard forgets what it holds: a purge', async () => {
    const ref = { feed: 'purge', group: 'g' };
    for (const id of ['1', '2', '3']) await store.append(message('purge', id));
    await store.groups.declare(ref, { maxDeliveries: 1 });
    const [first, second] = (await store.groups.claim({ ...ref, limit: 2 })).messages;
    await store.groups.nack({ ...ref, receipts: [first!.receipt] });
    await store.groups.move({ ...ref, position: 'latest', discard: true });
    const status = await store.groups.status(ref);
    assert.deepEqual([status.pending, status.waiting, status.dead, status.lag], [0, 0, 0, 0]);
    assert.equal((await store.groups.claim({ ...ref, limit: 10 })).messages.length, 0);
    assert.equal((await store.groups.ack({ ...ref, receipts: [second!.receipt] })).results[0]?.ok, true, 'an old receipt acks nothing left');
  });

  test('a purge whose move is refused forgets nothing', async () => {
    const ref = { feed: 'refused-purge', group: 'g' };
    const { entry } = await store.append(message('refused-purge', '1'));
    await store.groups.claim({ ...ref, limit: 1 });
    await assert.rejects(store.groups.move({ ...ref, position: entry.seq + 1_000_000, discard: true }), { code: 'INVALID_PARAMETER' });
    assert.equal((await store.groups.status(ref)).pending, 1, 'the lease is still held');
  });
});
