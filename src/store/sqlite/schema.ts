import type Database from 'better-sqlite3';
import type { Change, Representation, StoredEntry } from '../store.js';

/**
 * One table holds every feed's changes. `seq` is the rowid with AUTOINCREMENT, so it only grows,
 * is never reused after deletes, and one sequence serves all feeds (as in the original AtomMQ).
 * A live entry and its later tombstone share a key: PUT and DELETE replace the row at a new seq.
 * `idempotency_key` (the Idempotency-Key header) and `client_id` (the client's atom:id) recognise
 * retried POSTs, each in its own namespace; `fingerprint` tells a retry from another entry.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  feed TEXT NOT NULL,
  key TEXT NOT NULL,
  atom_id TEXT NOT NULL,
  idempotency_key TEXT,
  client_id TEXT,
  fingerprint TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  published TEXT NOT NULL,
  edited TEXT NOT NULL,
  edited_ms INTEGER NOT NULL,
  xml TEXT NOT NULL,
  json TEXT NOT NULL
);
-- Cursor reads: O(log n + page) whatever the feed's size.
CREATE INDEX IF NOT EXISTS entries_by_feed ON entries (feed, seq);
-- Collection view: newest live entries without stepping over tombstones.
CREATE INDEX IF NOT EXISTS entries_live ON entries (feed, seq) WHERE deleted = 0;
CREATE UNIQUE INDEX IF NOT EXISTS entries_member ON entries (feed, key);
CREATE UNIQUE INDEX IF NOT EXISTS entries_idempotency ON entries (feed, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS entries_client_id ON entries (feed, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_atom_id ON entries (atom_id);
-- Retention finds the oldest tombstones without stepping over live entries.
CREATE INDEX IF NOT EXISTS entries_tombstones ON entries (feed, seq) WHERE deleted = 1;
-- The lowest and highest seq retention removed from each feed, which tell a reader of a gap, and
-- how many changes it removed in all, which page validators include.
CREATE TABLE IF NOT EXISTS pruned (
  feed TEXT PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  through_seq INTEGER NOT NULL,
  removed INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Bumped by each change to SCHEMA that a database made by an earlier version needs migrating to. */
const VERSION = 2;

/**
 * Puts the schema in place, migrating a database made by an earlier version, in one transaction
 * that holds the write lock, so that the store's two connections never both migrate.
 *
 * Version 1 split the client's atom:id from the Idempotency-Key header, which shared one column
 * before. An older row's value may have been either, so it goes into both, without a fingerprint:
 * such rows answer a retry under either name as they always did. Version 2 added `pruned` and the
 * tombstone index, which SCHEMA creates where they are missing.
 */
export function applySchema(db: Database.Database): void {
  db.transaction(() => {
    if ((db.pragma('user_version', { simple: true }) as number) >= VERSION) return;
    const columns = new Set((db.pragma('table_info(entries)') as Array<{ name: string }>).map((c) => c.name));
    if (columns.size > 0 && !columns.has('client_id')) {
      db.exec(`ALTER TABLE entries ADD COLUMN client_id TEXT;
        ALTER TABLE entries ADD COLUMN fingerprint TEXT;
        UPDATE entries SET client_id = idempotency_key WHERE idempotency_key IS NOT NULL;`);
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${VERSION}`);
  }).immediate();
}

/** A row as the queries read it. */
export interface Row {
  seq: number;
  feed: string;
  key: string;
  atom_id: string;
  deleted: number;
  published: string;
  edited: string;
  xml: string;
  json: string;
}

export const COLUMNS = 'seq, feed, key, atom_id, deleted, published, edited, xml, json';

/** A Change's columns, in ChangeRow's order; a rendered form the read does not need is an empty string. */
export function changeColumns(only: Representation | undefined): string {
  return `seq, deleted, edited, ${only === 'json' ? "''" : 'xml'}, ${only === 'xml' ? "''" : 'json'}`;
}

/**
 * A page row, read as an array: naming the properties here is cheaper than having the driver build
 * an object per row, and a 50-entry page spends a third of its read doing that.
 */
export type ChangeRow = [seq: number, deleted: number, edited: string, xml: string, json: string];

export function toChange(row: ChangeRow): Change {
  return { seq: row[0], deleted: row[1] === 1, edited: row[2], xml: row[3], json: row[4] };
}

export function toEntry(row: Row): StoredEntry {
  return {
    seq: row.seq, feed: row.feed, key: row.key, atomId: row.atom_id, deleted: row.deleted === 1,
    published: row.published, edited: row.edited, xml: row.xml, json: row.json,
  };
}
