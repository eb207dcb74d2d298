/** The consumer-group statements both the writer (inside a batch) and the reads use. */
import type pg from 'pg';
import type { NextDue } from '../groups.js';
import { groupNotFound, nextDueOf, type GroupRow } from '../group-rules.js';
import type { GroupRef } from '../groups.js';
import { statement } from './pg-connection.js';

export type Db = pg.Pool | pg.ClientBase;

export const GROUP_COLUMNS = 'id, feed, name, lease_ms, max_deliveries, start, position, expired, created_ms';
export const MESSAGE_COLUMNS = 'seq, state, deliveries, base, receipt, due_ms, reason';

/**
 * Whether a message of the group `m` is dead: dead-lettered already, or leased for its last allowed
 * delivery with the lease over (the next claim dead-letters it; until then reads count it dead).
 */
export function isDead(now: string, max: string): string {
  return `(m.state = 'dead' OR (m.state = 'leased' AND m.due_ms <= ${now} AND m.deliveries - m.base >= ${max}))`;
}

const GROUP = statement('atommq.group', `SELECT ${GROUP_COLUMNS} FROM atommq_groups WHERE feed = $1 AND name = $2`);
/**
 * The group, locked until the batch commits. Batches already commit one at a time (pg-batch.ts);
 * the row lock keeps a group's changes apart even if that ever changes.
 */
const GROUP_FOR_UPDATE = statement('atommq.group.lock', `SELECT ${GROUP_COLUMNS} FROM atommq_groups WHERE feed = $1 AND name = $2 FOR UPDATE`);

/**
 * The earliest due time of its pending messages, and whether a live entry lies beyond its position.
 */
const DUE = statement('atommq.group.due', `
  SELECT (SELECT min(due_ms) FROM atommq_group_messages WHERE grp = $1 AND due_ms IS NOT NULL) AS due,
    EXISTS (SELECT 1 FROM atommq_entries WHERE feed = $2 AND NOT deleted AND seq > $3) AS live`);

export async function findGroup(db: Db, ref: GroupRef, lock = false): Promise<GroupRow | undefined> {
  const { rows } = await db.query<GroupRow>((lock ? GROUP_FOR_UPDATE : GROUP)([ref.feed, ref.group]));
  return rows[0];
}

/** The group, or GROUP_NOT_FOUND. */
export async function existingGroup(db: Db, ref: GroupRef, lock = false): Promise<GroupRow> {
  const group = await findGroup(db, ref, lock);
  if (!group) throw groupNotFound(ref);
  return group;
}

export async function nextDue(db: Db, group: GroupRow, now: number): Promise<NextDue> {
  const { rows } = await db.query<{ due: number | null; live: boolean }>(DUE([group.id, group.feed, group.position]));
  return nextDueOf(rows[0]?.due, rows[0]?.live === true, now);
}
