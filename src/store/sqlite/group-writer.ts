import type Database from 'better-sqlite3';
import { AtomMQError } from '../../errors/index.js';
import {
  GROUP_DEFAULTS,
  type ClaimedMessage, type ClaimRequest, type ClaimResult, type ExtendRequest, type GroupRef, type GroupSettings,
  type MoveRequest, type NackRequest, type NextDue, type ReceiptRequest, type ReceiptsResult, type RequeueRequest,
  type RequeueResult,
} from '../groups.js';
import type { Representation } from '../store.js';
import { GroupReads } from './group-reads.js';
import { formatReceipt, newToken, ReceiptWriter } from './group-receipts.js';
import { IS_DEAD, type GroupRow } from './group-schema.js';
import { changeColumns, toChange, type ChangeRow } from './schema.js';

interface Due {
  readonly nextDue: NextDue;
}

/** Each group write as it crosses to the writer thread (plain data), and what it answers. */
export interface GroupWrites {
  declare: { request: GroupRef & { readonly settings: Partial<GroupSettings> }; result: Due };
  claim: { request: ClaimRequest; result: ClaimResult };
  ack: { request: ReceiptRequest; result: ReceiptsResult };
  nack: { request: NackRequest; result: ReceiptsResult };
  extend: { request: ExtendRequest; result: ReceiptsResult };
  requeue: { request: RequeueRequest; result: RequeueResult };
  move: { request: MoveRequest; result: Due };
  remove: { request: GroupRef; result: Due };
}

export type GroupAction = keyof GroupWrites;
export type GroupOp = { [A in GroupAction]: { readonly action: A; readonly request: GroupWrites[A]['request'] } }[GroupAction];
export type GroupOutcome = GroupWrites[GroupAction]['result'];

/**
 * Rows a claim may pass over without handing them out (tombstones, delayed or expired entries,
 * vanished or dead-lettered messages), so a claim keeps the writer for a bounded time whatever
 * lies ahead. A claim that stops there answers a next due time of now: the caller claims again.
 */
const SKIP_BUDGET = 1000;
const SCAN_BATCH = 256;

interface DueRow {
  seq: number;
  deliveries: number;
  dead: number;
  /** NULL when the entry is gone (replaced, deleted, pruned). */
  deleted: number | null;
  expires_ms: number | null;
}

interface NewRow {
  seq: number;
  deleted: number;
  deliver_after_ms: number | null;
  expires_ms: number | null;
}

/** One claim in progress. */
interface Pass {
  readonly group: GroupRow;
  readonly limit: number;
  readonly now: number;
  readonly leaseExpires: number;
  readonly taken: Array<{ seq: number; deliveries: number; token: string }>;
  skips: number;
  expired: number;
}

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
      after: db.prepare<[string, number, number], NewRow>(
        'SELECT seq, deleted, deliver_after_ms, expires_ms FROM entries WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?'),
      insert: db.prepare<[number, number, string, number, string | null, number], never>(
        'INSERT OR IGNORE INTO group_messages (grp, seq, state, deliveries, receipt, due_ms) VALUES (?, ?, ?, ?, ?, ?)'),
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
      case 'move':
        if (op.request.discard) this.s.removeMessages.run(group.id);
        return this.move(group, op.request.position, now);
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
    const leaseMs = request.leaseSeconds === undefined ? group.lease_ms : 1000 * request.leaseSeconds;
    const pass: Pass = { group, limit: request.limit, now, leaseExpires: now + leaseMs, taken: [], skips: 0, expired: 0 };
    this.redeliver(pass);
    const position = this.advance(pass);
    this.s.advance.run(position, pass.expired, group.id);
    const messages = pass.taken.sort((a, b) => a.seq - b.seq).map((t): ClaimedMessage => ({
      ...toChange(this.content(request.only).get(t.seq)!),
      receipt: formatReceipt(group.id, t.seq, t.deliveries, t.token),
      deliveries: t.deliveries,
      leaseExpires: pass.leaseExpires,
    }));
    return { messages, created: !existing, ...this.due({ ...group, position }, now) };
  }

  private redeliver(pass: Pass): void {
    const { group, now } = pass;
    for (let more = true; more && pass.taken.length < pass.limit && pass.skips < SKIP_BUDGET;) {
      const limit = pass.limit - pass.taken.length;
      const rows = this.s.due.all({ grp: group.id, now, max: group.max_deliveries, limit });
      more = rows.length === limit;
      for (const row of rows) {
        if (pass.skips >= SKIP_BUDGET) return;
        if (row.deleted !== 0) {
          // The entry was replaced (its new revision has a seq of its own), deleted or pruned.
          this.s.drop.run(group.id, row.seq);
        } else if (expired(row, now)) {
          this.s.drop.run(group.id, row.seq);
          pass.expired++;
        } else if (row.dead) {
          this.s.bury.run(group.id, row.seq);
        } else {
          const token = newToken();
          this.s.lease.run(token, pass.leaseExpires, group.id, row.seq);
          pass.taken.push({ seq: row.seq, deliveries: row.deliveries + 1, token });
          continue;
        }
        pass.skips++;
      }
    }
  }

  /** Hands out new entries past the position; answers the new position. */
  private advance(pass: Pass): number {
    const { group } = pass;
    let position = group.position;
    for (let more = true; more;) {
      const rows = this.s.after.all(group.feed, position, SCAN_BATCH);
      more = rows.length === SCAN_BATCH;
      for (const row of rows) {
        if (pass.taken.length >= pass.limit || pass.skips >= SKIP_BUDGET) return position;
        position = row.seq;
        if (!this.offer(pass, row)) pass.skips++;
      }
    }
    return position;
  }

  /** Leases one new entry to the claim, or records why not; true when leased. */
  private offer(pass: Pass, row: NewRow): boolean {
    const { group, now } = pass;
    if (row.deleted) return false;
    if (expired(row, now)) {
      pass.expired++;
      return false;
    }
    if (row.deliver_after_ms !== null && row.deliver_after_ms > now) {
      this.s.insert.run(group.id, row.seq, 'waiting', 0, null, row.deliver_after_ms);
      return false;
    }
    const token = newToken();
    // Ignored when the message is pending already: the group was moved back over it.
    if (this.s.insert.run(group.id, row.seq, 'leased', 1, token, pass.leaseExpires).changes === 0) return false;
    pass.taken.push({ seq: row.seq, deliveries: 1, token });
    return true;
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

  private move(group: GroupRow, to: MoveRequest['position'], now: number): Due {
    const newest = this.s.newest.get(group.feed)?.seq ?? 0;
    const position = to === 'earliest' ? 0 : to === 'latest' ? newest : to;
    if (position > newest) {
      throw new AtomMQError('INVALID_PARAMETER', `position ${position} is beyond the newest seq of feed "${group.feed}", ${newest}`);
    }
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

function expired(row: { expires_ms: number | null }, now: number): boolean {
  return row.expires_ms !== null && row.expires_ms <= now;
}

function ms(seconds: number | undefined): number | null {
  return seconds === undefined ? null : seconds * 1000;
}
