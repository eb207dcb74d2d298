/**
 * The Store interface on each kind of store (SQLite, PostgreSQL): group commit, keys, retries,
 * seqs, retention and bounded page reads behave the same on both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AtomMQError } from '../src/errors/index.js';
import { PRUNE_BATCH, type Revision, type Store } from '../src/store/store.js';
import { eachStore } from './support/postgres.js';
import { StoreScope } from './support/stores.js';

function revision(text: string, edited = new Date().toISOString()): Revision {
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}`, json: `"t":"${text}"` };
}

eachStore('store', (kind) => {
  const scope = new StoreScope(kind);
  let store: Store;
  before(async () => {
    store = await scope.open();
  });
  after(scope.cleanUp);

  test('writes sent together commit together; a refused write does not fail the others', async () => {
    const commits: number[] = [];
    store.onCommit((changes) => commits.push(changes.length));
    const writes = Array.from({ length: 50 }, (_, i) => i === 25
      ? store.replace({ feed: 'f', key: 'never-stored', revision: revision('x') })
      : store.append({ feed: 'f', candidates: [{ key: `k${i}`, revision: revision(`m${i}`) }] }));
    const results = await Promise.allSettled(writes);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1);
    assert.equal(((refused[0] as PromiseRejectedResult).reason as AtomMQError).code, 'ENTRY_NOT_FOUND');
    assert.deepEqual(commits, [49], 'one transaction, one listener call, for the whole batch');
    const stored = (await store.readAfter('f', 0, { limit: 100 })).changes;
    assert.equal(stored.length, 49);
    assert.deepEqual(stored.map((e) => e.seq), [...stored.map((e) => e.seq)].sort((a, b) => a - b));
  });

  test('a taken first candidate key falls back to the next, inside the transaction', async () => {
    const first = await store.append({ feed: 's', candidates: [{ key: 'slug', revision: revision('a') }, { key: 'u1', revision: revision('a') }] });
    const second = await store.append({ feed: 's', candidates: [{ key: 'slug', revision: revision('b') }, { key: 'u2', revision: revision('b') }] });
    assert.deepEqual([first.entry.key, second.entry.key], ['slug', 'u2']);
  });

  test('an idempotency key already stored returns the earlier entry and stores nothing', async () => {
    const retry = { idempotencyKey: 'once', fingerprint: 'f1' };
    const first = await store.append({ feed: 'i', retry, candidates: [{ key: 'a', revision: revision('a') }] });
    const again = await store.append({ feed: 'i', retry, candidates: [{ key: 'b', revision: revision('b') }] });
    assert.equal(again.created, false);
    assert.equal(again.entry.seq, first.entry.seq);
    assert.equal((await store.readAfter('i', 0, { limit: 10 })).changes.length, 1);
  });

  test('seqs only grow, across feeds, deletes and reopening the file', async () => {
    const first = (await store.append({ feed: 'g', candidates: [{ key: 'a', revision: revision('a') }] })).entry;
    const removed = await store.remove({ feed: 'g', key: 'a', revision: revision('a-tombstone') });
    assert.ok(removed.seq > first.seq);
    store = await scope.reopen();
    const next = (await store.append({ feed: 'h', candidates: [{ key: 'b', revision: revision('b') }] })).entry;
    assert.ok(next.seq > removed.seq);
  });

  test('retention by count and by age removes the oldest changes only', async () => {
    const old = new Date(Date.now() - 3600_000).toISOString();
    for (let i = 0; i < 5; i++) await store.append({ feed: 'r', candidates: [{ key: `old${i}`, revision: revision(`old${i}`, old) }] });
    for (let i = 0; i < 5; i++) await store.append({ feed: 'r', candidates: [{ key: `new${i}`, revision: revision(`new${i}`) }] });
    assert.equal(await store.prune('r', { maxAgeSeconds: 60 }, Date.now()), 5);
    assert.equal(await store.prune('r', { maxEntries: 3 }, Date.now()), 2);
    const left = (await store.readAfter('r', 0, { limit: 100 })).changes;
    assert.deepEqual(left.map((e) => e.xml), ['<entry>new2', '<entry>new3', '<entry>new4']);
  });

  test('a sweep runs in batches: one prune call removes at most PRUNE_BATCH changes, and records what it removed', async () => {
    const old = new Date(Date.now() - 3600_000).toISOString();
    const appended = await Promise.all(Array.from({ length: PRUNE_BATCH + 20 }, (_, i) =>
      store.append({ feed: 'b', candidates: [{ key: `k${i}`, revision: revision(`b${i}`, old) }] })));
    const seqs = appended.map((a) => a.entry.seq).sort((x, y) => x - y);
    assert.equal(await store.prune('b', { maxAgeSeconds: 60 }, Date.now()), PRUNE_BATCH);
    const first = seqs[0] as number;
    assert.deepEqual((await store.readAfter('b', first, { limit: 1 })).gap, { from: first + 1, to: seqs[PRUNE_BATCH - 1] });
    assert.equal(await store.prune('b', { maxAgeSeconds: 60 }, Date.now()), 20);
    assert.equal(await store.prune('b', { maxAgeSeconds: 60 }, Date.now()), 0);
  });

  test("an idle feed's tombstones go after tombstoneSeconds, and its live entries stay", async () => {
    const keys = ['t1', 't2', 't3'];
    for (const key of keys) await store.append({ feed: 't', candidates: [{ key, revision: revision(key) }] });
    for (const key of ['t1', 't3']) await store.remove({ feed: 't', key, revision: revision(key) });
    const retention = { tombstoneSeconds: 60 };
    assert.equal(await store.prune('t', retention, Date.now()), 0);
    assert.equal(await store.prune('t', retention, Date.now() + 61_000), 2);
    assert.deepEqual((await store.readAfter('t', 0, { limit: 10 })).changes.map((c) => [c.xml, c.deleted]), [['<entry>t2', false]]);
  });

  test('a cursor above every seq the database assigned is CURSOR_AHEAD, naming the newest', async () => {
    const { entry } = await store.append({ feed: 'a', candidates: [{ key: 'a', revision: revision('a') }] });
    assert.deepEqual((await store.readAfter('a', entry.seq, { limit: 1 })).changes, []);
    await assert.rejects(store.readAfter('a', entry.seq + 1, { limit: 1 }),
      (error: AtomMQError) => error.code === 'CURSOR_AHEAD' && error.members['newest'] === entry.seq);
  });

  test('a page read can load just the representation it sends', async () => {
    await store.append({ feed: 'p', candidates: [{ key: 'one', revision: revision('one') }] });
    const [xml] = (await store.readAfter('p', 0, { limit: 10, only: 'xml' })).changes;
    const [json] = (await store.readBefore('p', undefined, { limit: 10, only: 'json' })).changes;
    const [both] = (await store.readAfter('p', 0, { limit: 10 })).changes;
    assert.deepEqual([xml?.xml, xml?.json], ['<entry>one', '']);
    assert.deepEqual([json?.xml, json?.json], ['', '"t":"one"']);
    assert.deepEqual([both?.xml, both?.json], ['<entry>one', '"t":"one"']);
  });

  test('a page read stops at its size budget, with at least one change, and says that more follow', async () => {
    // Each change is 1,000 characters of Atom and 10 of JSON.
    const big = (i: number): Revision => ({ ...revision(`b${i}`), xml: `<entry>${String(i).padEnd(993, '.')}`, json: '"t":"big"' });
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push((await store.append({ feed: 'b', candidates: [{ key: `b${i}`, revision: big(i) }] })).entry.seq);
    const seqsOf = (page: { changes: Array<{ seq: number }> }): number[] => page.changes.map((c) => c.seq);

    const after = await store.readAfter('b', 0, { limit: 100, maxBytes: 2500, only: 'xml' });
    assert.deepEqual([seqsOf(after), after.more], [seqs.slice(0, 2), true]);
    const rest = await store.readAfter('b', seqs[1] as number, { limit: 100, maxBytes: 5000, only: 'xml' });
    assert.deepEqual([seqsOf(rest), rest.more], [seqs.slice(2), false]);
    const alone = await store.readAfter('b', 0, { limit: 100, maxBytes: 10, only: 'xml' });
    assert.deepEqual([seqsOf(alone), alone.more], [seqs.slice(0, 1), true], 'one change even when it alone is over budget');
    const json = await store.readAfter('b', 0, { limit: 100, maxBytes: 25, only: 'json' });
    assert.equal(json.changes.length, 2, 'only the loaded representation counts');
    const newest = await store.readBefore('b', undefined, { limit: 3, maxBytes: 1_000_000, only: 'xml' });
    assert.deepEqual([seqsOf(newest), newest.more], [seqs.slice(2).reverse(), true], 'the count still bounds it');
  });

});
