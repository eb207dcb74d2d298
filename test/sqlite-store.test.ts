import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { applySchema } from '../src/store/sqlite/schema.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Revision } from '../src/store/store.js';
import { openDatabase } from '../src/store/sqlite/writer.js';
import type { AtomMQError } from '../src/errors/index.js';
import { publish, seqsOf } from './support/groups.js';
import { tempDir } from './support/server.js';

function revision(text: string, edited = new Date().toISOString()): Revision {
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}`, json: `"t":"${text}"` };
}

/** What only the SQLite store has: its migrations, its pragmas, its query plans. The rest is test/store.test.ts. */
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

  test('a database made before keys and atom:ids were apart is migrated; its keys still answer retries under either name', async () => {
    const path = join(dir, 'v0.db');
    const v0 = new Database(path);
    // The table as version 0 made it: one column held the Idempotency-Key header or the client's atom:id.
    v0.exec(`CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, feed TEXT NOT NULL, key TEXT NOT NULL,
      atom_id TEXT NOT NULL, idempotency_key TEXT, deleted INTEGER NOT NULL DEFAULT 0, published TEXT NOT NULL,
      edited TEXT NOT NULL, edited_ms INTEGER NOT NULL, xml TEXT NOT NULL, json TEXT NOT NULL);
      CREATE UNIQUE INDEX entries_idempotency ON entries (feed, idempotency_key) WHERE idempotency_key IS NOT NULL;
      INSERT INTO entries (feed, key, atom_id, idempotency_key, published, edited, edited_ms, xml, json)
        VALUES ('m', 'old', 'urn:uuid:old', 'urn:client:old', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 0, '<entry>old', '"t":"old"');`);
    v0.close();
    const migrated = new SqliteStore({ path });
    try {
      const byKey = await migrated.append({ feed: 'm', retry: { idempotencyKey: 'urn:client:old', fingerprint: 'any' }, candidates: [{ key: 'k1', revision: revision('k1') }] });
      const byId = await migrated.append({ feed: 'm', retry: { clientId: 'urn:client:old', fingerprint: 'other' }, candidates: [{ key: 'k2', revision: revision('k2') }] });
      assert.deepEqual([byKey.created, byKey.entry.key, byId.created, byId.entry.key], [false, 'old', false, 'old']);
      const fresh = await migrated.append({ feed: 'm', retry: { clientId: 'urn:client:new', fingerprint: 'f' }, candidates: [{ key: 'k3', revision: revision('k3') }] });
      assert.equal(fresh.created, true);
      await assert.rejects(
        migrated.append({ feed: 'm', retry: { clientId: 'urn:client:new', fingerprint: 'g' }, candidates: [{ key: 'k4', revision: revision('k4') }] }),
        (error: AtomMQError) => error.code === 'IDEMPOTENCY_CONFLICT');
    } finally {
      await migrated.close();
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    db.close();
  });

  test('durability: fsync by default (synchronous=FULL), NORMAL when asked to risk power loss; WAL', () => {
    for (const [durability, level] of [['fsync', 2], ['lose-on-power-failure', 1]] as const) {
      const db = openDatabase(join(dir, `${durability}.db`), durability);
      assert.equal(db.pragma('synchronous', { simple: true }), level);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.close();
    }
  });

  test('a database made before groups existed gains their tables and the delivery columns on opening', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    applySchema(old);
    old.prepare("INSERT INTO entries (feed, key, atom_id, published, edited, edited_ms, xml, json) VALUES ('legacy', 'k', 'urn:uuid:k', '', '', 0, '<entry/>', '{}')").run();
    old.close();
    const store = new SqliteStore({ path });
    try {
      await publish(store, 'legacy', 1, 'later', { deliverAfter: Date.now() + 60_000 });
      const { messages } = await store.groups.claim({ feed: 'legacy', group: 'g', limit: 10 });
      assert.deepEqual(seqsOf(messages), [1], 'the old entry is delivered, the delayed new one waits');
      assert.equal((await store.groups.status({ feed: 'legacy', group: 'g' })).lag, 1);
    } finally {
      await store.close();
    }
  });

  test('a cursor read uses the feed index, whatever the table size', () => {
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?').all('f', 0, 10) as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join(' '), /USING (COVERING )?INDEX entries_by_feed/);
  });
});
