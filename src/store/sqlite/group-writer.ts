import type Database from 'better-sqlite3';
import { AtomMQError } from '../../errors/index.js';
import {
  GROUP_DEFAULTS, type ClaimRequest, type ClaimResult, type GroupRef, type GroupSettings, type MoveRequest, type RequeueResult,
} from '../groups.js';
import type { Due, GroupOp, GroupOutcome } from '../group-ops.js';
import {
  canTake, claimed, ms, planDue, planNew, SCAN_BATCH, startPass, type ClaimPass, type DueRow, type GroupRow, type NewRow,
} from '../group-rules.js';
import type { Representation } from '../store.js';
import { GroupReads } from './group-reads.js';
import { ReceiptWriter } from './group-receipts.js';
import { IS_DEAD } from './group-schema.js';
import { changeColumns, toChange, type ChangeRow } from './schema.js';

/**
 * The state machine of consumer groups, run by the writer thread: each write is one transaction
 * (a savepoint inside the writer's batch, so a refused write leaves the others intact), and the
 * writer runs them one at a time, so two claims can never lease the same message.
 */
export class GroupWriter {
  private readonly s;
  private readonly reads: GroupReads;
  private readonly receipts: ReceiptWriter;
  private readonly contents = new Map<Representation | 'both', Database.Statement<[number], ChangeRow>>();
  private readonly run: (op: GroupOp, now: number) => GroupOutcome;

  constructor(private readonly db: Database.Database) {
    this.reads = new GroupReads(db);
    this.receipts = new ReceiptWriter(db);
    this.s = {
      create: db.prepare<[string, string, number, number, string, number, number], never>(
        'INSERT INTO groups (feed, name, lease_ms, max_deliveries, start, position, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      settings: db.prepare<[number | null, number | null, number], never>(
        'UPDATE groups SET lease_ms = COALESCE(?, lease_ms), max_deliveries = COALESCE(?, max_deliveries) WHERE id = ?'),
      advance: db.prepare<[number, number, number], never>('UPDATE groups SET position = ?, expired = expired + ? WHERE id = ?'),
      removeGroup: db.prepare<[number], never>('DELETE FROM groups WHERE id = ?'),
      removeMessages: db.prepare<[number], never>('DELETE FROM group_messages WHERE grp = ?'),
      newest: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM entries WHERE feed = ?'),
      due: db.prepare<{ grp: number; now: number; max: number; limit: number }, DueRow>(`
        SELECT m.seq, m.deliveries, ${IS_DEAD} AS dead, e.deleted, e.expires_ms
        FROM group_messages m LEFT JOIN entries e ON e.seq = m.seq
        WHERE m.grp = :grp AND m.due_ms <= :now ORDER BY m.seq LIMIT :limit`),
      after: db.prepare<[number, string, number, number], NewRow>(`
        SELECT e.seq, e.deleted, e.deliver_after_ms, e.expires_ms, m.seq IS NOT NULL AS pending
        FROM entries e LEFT JOIN group_messages m ON m.grp = ? AND m.seq = e.seq
        WHERE e.feed = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`),
      insert: db.prepare<[number, number, string, number, string | null, number], never>(
        'INSERT INTO group_messages (grp, seq, state, deliveries, receipt, due_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      lease: db.prepare<[string, number, number, number], never>(
        "UPDATE group_messages SET state = 'leased', deliveries = deliveries + 1, receipt = ?, due_ms = ? WHERE grp = ? AND seq = ?"),
      bury: db.prepare<[number, number], never>("UPDATE group_messages SET state = 'dead', due_ms = NULL WHERE grp = ? AND seq = ?"),
      drop: db.prepare<[number, number], never>('DELETE FROM group_messages WHERE grp = ? AND seq = ?'),
      requeueAll: db.prepare<{ grp: number; now: number; max: number }, { seq: number }>(
        `UPDATE group_messages AS m SET state = 'waiting', due_ms = :now, base = deliveries WHERE m.grp = :grp AND ${IS_DEAD} RETURNING seq`),
      requeueOne: db.prepare<{ grp: number; seq: number; now: number; max: number }, never>(
        `UPDATE group_messages AS m SET state = 'waiting', due_ms = :now, base = deliveries WHERE m.grp = :grp AND m.seq = :seq AND ${IS_DEAD}`),
      schedule: db.prepare<[number | null, number | null, number], never>('UPDATE entries SET deliver_after_ms = ?, expires_ms = ? WHERE seq = ?'),
    };
    this.run = db.transaction((op: GroupOp, now: number) => this.dispatch(op, now));
  }

  apply(op: GroupOp): GroupOutcome {
    return this.run(op, Date.now());
  }

  /**
   * Records when a just-appended entry may first be delivered and when it expires. Apart from the
   * insert, so the appends that have neither (most) pay nothing for them.
   */
  schedule(seq: number, deliverAfter: number | undefined, expires: number | undefined): void {
    if (deliverAfter !== undefined || expires !== undefined) this.s.schedule.run(deliverAfter ?? null, expires ?? null, seq);
  }

  private dispatch(op: GroupOp, now: number): GroupOutcome {
    if (op.action === 'claim') return this.claim(op.request, now);
    if (op.action === 'declare') {
      const group = this.reads.group(op.request);
      if (group) this.s.settings.run(ms(op.request.settings.leaseSeconds), op.request.settings.maxDeliveries ?? null, group.id);
      return this.due(group ?? this.create(op.request, op.request.settings, now), now);
    }
    const group = this.reads.existing(op.request);
    switch (op.action) {
      case 'ack': return { results: this.receipts.ack(group, op.request.receipts), ...this.due(group, now) };
      case 'nack': return { results: this.receipts.nack(group, op.request, now), ...this.due(group, now) };
      case 'extend': return { results: this.receipts.extend(group, op.request, now), ...this.due(group, now) };
      case 'requeue': return this.requeue(group, op.request.seqs, now);
      case 'move': return this.move(group, op.request, now);
      case 'remove':
        this.s.removeMessages.run(group.id);
        this.s.removeGroup.run(group.id);
        return { nextDue: undefined };
    }
  }

  private due(group: GroupRow, now: number): Due {
    return { nextDue: this.reads.nextDue(group, now) };
  }

  private create(ref: GroupRef, settings: Partial<GroupSettings>, now: number): GroupRow {
    const start = settings.start ?? GROUP_DEFAULTS.start;
    const position = start === 'latest' ? this.s.newest.get(ref.feed)?.seq ?? 0 : 0;
    this.s.create.run(ref.feed, ref.group, ms(settings.leaseSeconds ?? GROUP_DEFAULTS.leaseSeconds)!,
      settings.maxDeliveries ?? GROUP_DEFAULTS.maxDeliveries, start, position, now);
    return this.reads.existing(ref);
  }

  /**
   * Messages due again (lease ended, nack delay over, delayed message due) come first, as they are
   * behind the position; then the position advances over new entries. Lowest seq first throughout.
   */
  private claim(request: ClaimRequest, now: number): ClaimResult {
    const existing = this.reads.group(request);
    const group = existing ?? this.create(request, request.settings ?? {}, now);
    const pass = startPass(group, request, now);
    this.redeliver(pass);
    const position = this.advance(pass);
    this.s.advance.run(position, pass.expired, group.id);
    const messages = claimed(pass, (seq) => toChange(this.content(request.only).get(seq)!));
    return { messages, created: !existing, ...this.due({ ...group, position }, now) };
  }

  private redeliver(pass: ClaimPass): void {
    const { group, now } = pass;
    for (let more = true; more && canTake(pass);) {
      const limit = pass.limit - pass.taken.length;
      const rows = this.s.due.all({ grp: group.id, now, max: group.max_deliveries, limit });
      more = rows.length === limit;
      for (const step of planDue(pass, rows)) {
        if (step.action === 'drop') this.s.drop.run(group.id, step.seq);
        else if (step.action === 'bury') this.s.bury.run(group.id, step.seq);
        else this.s.lease.run(step.token, pass.leaseExpires, group.id, step.seq);
      }
    }
  }

  /** Hands out new entries past the position; answers the new position. */
  private advance(pass: ClaimPass): number {
    const { group } = pass;
    let position = group.position;
    for (let more = true; more;) {
      const rows = this.s.after.all(group.id, group.feed, position, SCAN_BATCH);
      more = rows.length === SCAN_BATCH;
      const plan = planNew(pass, position, rows);
      for (const step of plan.steps) {
        if (step.action === 'delay') this.s.insert.run(group.id, step.seq, 'waiting', 0, null, step.dueMs);
        else this.s.insert.run(group.id, step.seq, 'leased', 1, step.token, pass.leaseExpires);
      }
      position = plan.position;
      if (plan.stopped) break;
    }
    return position;
  }

  private requeue(group: GroupRow, seqs: readonly number[] | undefined, now: number): RequeueResult {
    const params = { grp: group.id, now, max: group.max_deliveries };
    let requeued: number[];
    let notDead: number[] = [];
    if (seqs === undefined) {
      requeued = this.s.requeueAll.all(params).map((r) => r.seq).sort((a, b) => a - b);
    } else {
      const unique = [...new Set(seqs)].sort((a, b) => a - b);
      requeued = unique.filter((seq) => this.s.requeueOne.run({ ...params, seq }).changes === 1);
      notDead = unique.filter((seq) => !requeued.includes(seq));
    }
    return { requeued, notDead, ...this.due(group, now) };
  }

  /** Moves the position; `discard` (a purge) also forgets every message the group holds, once the move is known to be valid. */
  private move(group: GroupRow, { position: to, discard }: MoveRequest, now: number): Due {
    const newest = this.s.newest.get(group.feed)?.seq ?? 0;
    const position = to === 'earliest' ? 0 : to === 'latest' ? newest : to;
    if (position > newest) {
      throw new AtomMQError('INVALID_PARAMETER', `position ${position} is beyond the newest seq of feed "${group.feed}", ${newest}`);
    }
    if (discard) this.s.removeMessages.run(group.id);
    this.s.advance.run(position, 0, group.id);
    return this.due({ ...group, position }, now);
  }

  /** The statement loading one message's rendered forms (as a page read would). */
  private content(only: Representation | undefined): Database.Statement<[number], ChangeRow> {
    const key = only ?? 'both';
    let statement = this.contents.get(key);
    if (!statement) {
      statement = this.db.prepare<[number], ChangeRow>(`SELECT ${changeColumns(only)} FROM entries WHERE seq = ?`).raw(true);
      this.contents.set(key, statement);
    }
    return statement;
  }
}
