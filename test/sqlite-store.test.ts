import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Revision, StoredEntry } from '../src/store/store.js';
import { tempDir } from './support/server.js';

function revision(text: string, edited = new Date().toISOString()): Revision {
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}`, json: `"t":"${text}"` };
}

describe('SQLite store', () => {
  let dir: string;
  let store: SqliteStore;
  before(() => {
    dir = tempDir();
    store = new SqliteStore({ path: join(dir, 'store.db') });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes queued in one turn commit together; one failing write does not fail the others', async () => {
    const commits: number[] = [];
    store.onCommit((changes) => commits.push(changes.length));
    const writes = Array.from({ length: 50 }, (_, i) => store.append({
      feed: 'f', fallbackKey: `k${i}`, build: (key) => {
        if (key === 'k25') throw new Error('render failed');
        return revision(`m${i}`);
      },
    }));
    const results = await Promise.allSettled(writes);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.deepEqual(commits, [49], 'one transaction, one listener call, for the whole batch');
    const stored = await store.readAfter('f', 0, 100);
    assert.equal(stored.length, 49);
    assert.ok(!stored.some((e) => e.key === 'k25'));
  });

  test('seqs only grow, across feeds, deletes and reopening the file', async () => {
    const first = (await store.append({ feed: 'g', fallbackKey: 'a', build: () => revision('a') })).entry;
    const removed = await store.remove({ feed: 'g', key: 'a', build: () => revision('a-tombstone') });
    assert.ok(removed.seq > first.seq);
    await store.close();
    store = new SqliteStore({ path: join(dir, 'store.db') });
    const next = (await store.append({ feed: 'h', fallbackKey: 'b', build: () => revision('b') })).entry;
    assert.ok(next.seq > removed.seq);
  });

  test('durability is fsync by default (synchronous=FULL, WAL)', () => {
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const modes = { fsync: 2, 'lose-on-power-failure': 1 } as const;
    for (const [durability, level] of Object.entries(modes)) {
      const s = new SqliteStore({ path: join(dir, `${durability}.db`), durability: durability as keyof typeof modes });
      assert.equal((s as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true }), level);
      void s.close();
    }
  });

  test('retention by count and by age removes the oldest changes only', async () => {
    const old = new Date(Date.now() - 3600_000).toISOString();
    for (let i = 0; i < 5; i++) await store.append({ feed: 'r', fallbackKey: `old${i}`, build: () => revision(`old${i}`, old) });
    for (let i = 0; i < 5; i++) await store.append({ feed: 'r', fallbackKey: `new${i}`, build: () => revision(`new${i}`) });
    assert.equal(await store.prune('r', { maxAgeSeconds: 60 }, Date.now()), 5);
    assert.equal(await store.prune('r', { maxEntries: 3 }, Date.now()), 2);
    const left: StoredEntry[] = await store.readAfter('r', 0, 100);
    assert.deepEqual(left.map((e) => e.key), ['new2', 'new3', 'new4']);
  });

  test('a cursor read uses the feed index, whatever the table size', () => {
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?').all('f', 0, 10) as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join(' '), /USING (COVERING )?INDEX entries_by_feed/);
  });
});
