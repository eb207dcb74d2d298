import type Database from 'better-sqlite3';
import type { DeadMessage, GroupRef, GroupStatus, NextDue } from '../groups.js';
import { describeGroup, groupNotFound, nextDueOf, oldestUnacked, type GroupRow, type Tally } from '../group-rules.js';
import type { Representation } from '../store.js';
import { GROUP_COLUMNS, IS_DEAD } from './group-schema.js';
import { changeColumns, toChange, type ChangeRow } from './schema.js';

type DeadPageParams = { grp: number; after: number; limit: number; now: number; max: number };
type DeadRow = [...ChangeRow, deliveries: number, reason: string | null];

/**
 * Group reads, on whichever connection is given: the store's reading connection answers status and
 * dead lists; the writer's own copy finds groups and next due times inside its transactions.
 */
export class GroupReads {
  private readonly s;
  private readonly deadPages = new Map<Representation | 'both', Database.Statement<DeadPageParams, DeadRow>>();

  constructor(private readonly db: Database.Database) {
    this.s = {
      group: db.prepare<[string, string], GroupRow>(`SELECT ${GROUP_COLUMNS} FROM groups WHERE feed = ? AND name = ?`),
      groups: db.prepare<[string], GroupRow>(`SELECT ${GROUP_COLUMNS} FROM groups WHERE feed = ? ORDER BY name`),
      firstLiveAfter: db.prepare<[string, number], { seq: number }>(
        'SELECT seq FROM entries WHERE feed = ? AND deleted = 0 AND seq > ? ORDER BY seq LIMIT 1'),
      countLiveAfter: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM entries WHERE feed = ? AND deleted = 0 AND seq > ?'),
      earliestDue: db.prepare<[number], { due: number | null }>('SELECT MIN(due_ms) AS due FROM group_messages WHERE grp = ? AND due_ms IS NOT NULL'),
      editedAt: db.prepare<[number], { edited_ms: number }>('SELECT edited_ms FROM entries WHERE seq = ?'),
      // Joined with entries: a message whose entry was replaced, deleted or pruned is no longer the group's.
      tally: db.prepare<{ grp: number; now: number; max: number }, Tally>(`
        SELECT COUNT(*) AS total,
          COALESCE(SUM(m.state = 'leased' AND m.due_ms > :now), 0) AS pending,
          COALESCE(SUM(${IS_DEAD}), 0) AS dead,
          COALESCE(SUM(m.deliveries = 0), 0) AS delayed,
          MIN(CASE WHEN NOT ${IS_DEAD} THEN m.seq END) AS lowest
        FROM group_messages m JOIN entries e ON e.seq = m.seq WHERE m.grp = :grp`),
    };
  }

  group(ref: GroupRef): GroupRow | undefined {
    return this.s.group.get(ref.feed, ref.group);
  }

  /** The group, or GROUP_NOT_FOUND. */
  existing(ref: GroupRef): GroupRow {
    const row = this.group(ref);
    if (!row) throw groupNotFound(ref);
    return row;
  }

  nextDue(group: GroupRow, now: number): NextDue {
    return nextDueOf(this.s.earliestDue.get(group.id)?.due, this.s.firstLiveAfter.get(group.feed, group.position) !== undefined, now);
  }

  status(ref: GroupRef, now = Date.now()): GroupStatus {
    return this.describe(this.existing(ref), now);
  }

  list(feed: string, now = Date.now()): GroupStatus[] {
    return this.s.groups.all(feed).map((g) => this.describe(g, now));
  }

  readDead(ref: GroupRef, after: number, limit: number, only: Representation | undefined, now = Date.now()): DeadMessage[] {
    const group = this.existing(ref);
    const rows = this.deadPage(only).all({ grp: group.id, after, limit, now, max: group.max_deliveries });
    return rows.map((row) => ({ ...toChange(row.slice(0, 5) as ChangeRow), deliveries: row[5], reason: row[6] ?? undefined }));
  }

  private deadPage(only: Representation | undefined): Database.Statement<DeadPageParams, DeadRow> {
    const key = only ?? 'both';
    let statement = this.deadPages.get(key);
    if (!statement) {
      // USING (seq) lets changeColumns name `seq` without a table.
      statement = this.db.prepare<DeadPageParams, DeadRow>(`
        SELECT ${changeColumns(only)}, m.deliveries, m.reason FROM group_messages m JOIN entries e USING (seq)
        WHERE m.grp = :grp AND m.seq > :after AND ${IS_DEAD} ORDER BY m.seq LIMIT :limit`).raw(true);
      this.deadPages.set(key, statement);
    }
    return statement;
  }

  private describe(group: GroupRow, now: number): GroupStatus {
    const tally = this.s.tally.get({ grp: group.id, now, max: group.max_deliveries })!;
    const oldest = oldestUnacked(tally, this.s.firstLiveAfter.get(group.feed, group.position)?.seq);
    return describeGroup(group, {
      tally,
      lagging: this.s.countLiveAfter.get(group.feed, group.position)!.n,
      oldestEditedMs: oldest === undefined ? undefined : this.s.editedAt.get(oldest)?.edited_ms,
      nextDue: this.nextDue(group, now),
    }, now);
  }
}
