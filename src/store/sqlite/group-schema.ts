import type Database from 'better-sqlite3';

/**
 * Consumer groups keep all their state in two plain tables, never in memory, so that every change
 * is one transaction that a crash either keeps or loses whole, and so that the same design carries
 * over to PostgreSQL (a claim there locks its group row, and picks due rows FOR UPDATE SKIP LOCKED).
 *
 * `groups.id` is a new number each time a group is created: receipts carry it, so a receipt of
 * another group, or of a deleted and re-created one, is recognised as not this group's.
 * `position` is the highest seq the group has handed out or passed over; `expired` counts messages
 * whose `expires` passed before they could be delivered.
 *
 * `group_messages` holds one row per message behind the position that is not done with: `leased`
 * (until `due_ms`), `waiting` (nacked, or delayed, until `due_ms`) or `dead` (`due_ms` NULL). An
 * acked message's row is deleted, so the table stays as small as the work in flight, and the ack
 * floor is derived from its lowest seq. `deliveries` only grows, so each delivery of a message has
 * its own number; `base` is its value at the last requeue, and a message is dead-lettered once
 * `deliveries - base` reaches the group's maxDeliveries. `receipt` is the random part of the
 * latest delivery's receipt.
 */
const GROUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  feed TEXT NOT NULL,
  name TEXT NOT NULL,
  lease_ms INTEGER NOT NULL,
  max_deliveries INTEGER NOT NULL,
  start TEXT NOT NULL,
  position INTEGER NOT NULL,
  expired INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS groups_by_name ON groups (feed, name);
CREATE TABLE IF NOT EXISTS group_messages (
  grp INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('leased', 'waiting', 'dead')),
  deliveries INTEGER NOT NULL,
  base INTEGER NOT NULL DEFAULT 0,
  receipt TEXT,
  due_ms INTEGER,
  reason TEXT,
  PRIMARY KEY (grp, seq)
) WITHOUT ROWID;
-- A claim's first step, and the next due time: O(log n) whatever the number of pending messages.
CREATE INDEX IF NOT EXISTS group_messages_due ON group_messages (grp, due_ms) WHERE due_ms IS NOT NULL;
`;

/**
 * When a published message may first be delivered and when it expires (epoch ms, NULL: at once,
 * never). Added to `entries` of databases created before groups existed.
 */
const ENTRY_COLUMNS = ['deliver_after_ms', 'expires_ms'] as const;

/** Creates the group tables and adds the delivery columns to `entries` where they are missing. */
export function applyGroupSchema(db: Database.Database): void {
  // IMMEDIATE: the reading and the writing connection both run this at start-up; one adds the columns.
  db.transaction(() => {
    const present = new Set((db.pragma('table_info(entries)') as Array<{ name: string }>).map((c) => c.name));
    for (const column of ENTRY_COLUMNS) if (!present.has(column)) db.exec(`ALTER TABLE entries ADD COLUMN ${column} INTEGER`);
    db.exec(GROUP_SCHEMA);
  }).immediate();
}

/**
 * Whether a message of the group is dead: dead-lettered already, or leased for its last allowed
 * delivery with the lease over (the next claim dead-letters it; until then reads count it dead).
 * Needs the parameters `:now` and `:max` (the group's maxDeliveries) and the table alias `m`.
 */
export const IS_DEAD = `(m.state = 'dead' OR (m.state = 'leased' AND m.due_ms <= :now AND m.deliveries - m.base >= :max))`;

export const GROUP_COLUMNS = 'id, feed, name, lease_ms, max_deliveries, start, position, expired, created_ms';

export const MESSAGE_COLUMNS = 'seq, state, deliveries, base, receipt, due_ms, reason';
