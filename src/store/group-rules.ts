/**
 * The rules of consumer groups that do not depend on a database: what a claim does with each row it
 * meets, when a group is next due and how its status is counted. Each store reads the rows with its
 * own SQL and applies the steps planned here, so SQLite and PostgreSQL behave alike by construction.
 */
import { randomBytes } from 'node:crypto';
import { AtomMQError } from '../errors/index.js';
import { formatReceipt } from './receipts.js';
import type { ClaimedMessage, ClaimRequest, GroupRef, GroupStart, GroupStatus, NextDue } from './groups.js';
import type { Change } from './store.js';

/** A group as both stores keep it (see sqlite/group-schema.ts for what each column means). */
export interface GroupRow {
  id: number;
  feed: string;
  name: string;
  lease_ms: number;
  max_deliveries: number;
  start: GroupStart;
  position: number;
  expired: number;
  created_ms: number;
}

export type MessageState = 'leased' | 'waiting' | 'dead';

/** A message behind the group's position that is not done with. */
export interface MessageRow {
  seq: number;
  state: MessageState;
  deliveries: number;
  base: number;
  receipt: string | null;
  due_ms: number | null;
  reason: string | null;
}

/** A pending message whose due time has come, with what its entry has become. */
export interface DueRow {
  seq: number;
  deliveries: number;
  /** Dead-lettered already, or leased for its last allowed delivery with the lease over. */
  dead: boolean | number;
  /** NULL when the entry is gone (replaced, deleted, pruned). */
  deleted: boolean | number | null;
  expires_ms: number | null;
}

/** An entry beyond the group's position. */
export interface NewRow {
  seq: number;
  deleted: boolean | number;
  deliver_after_ms: number | null;
  expires_ms: number | null;
  /** The group holds it already: it was moved back over a message still pending. */
  pending: boolean | number;
}

/**
 * Rows a claim may pass over without handing them out (tombstones, delayed or expired entries,
 * vanished or dead-lettered messages), so a claim holds the writer for a bounded time whatever lies
 * ahead. A claim that stops there answers a next due time of now: the caller claims again.
 */
export const SKIP_BUDGET = 1000;
/** Entries beyond the position read per query. */
export const SCAN_BATCH = 256;

export interface Taken {
  readonly seq: number;
  readonly deliveries: number;
  readonly token: string;
}

/** One claim in progress. */
export interface ClaimPass {
  readonly group: GroupRow;
  readonly limit: number;
  readonly now: number;
  readonly leaseExpires: number;
  readonly taken: Taken[];
  skips: number;
  expired: number;
}

export function startPass(group: GroupRow, request: ClaimRequest, now: number): ClaimPass {
  const leaseMs = request.leaseSeconds === undefined ? group.lease_ms : 1000 * request.leaseSeconds;
  return { group, limit: request.limit, now, leaseExpires: now + leaseMs, taken: [], skips: 0, expired: 0 };
}

/** Whether the claim may look at one more row. */
export function canTake(pass: ClaimPass): boolean {
  return pass.taken.length < pass.limit && pass.skips < SKIP_BUDGET;
}

export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * What a claim does with a due message: `drop` it (its entry was replaced, deleted or pruned, or it
 * expired: `expired` says which), `bury` it (dead-letter), or `lease` it again under `token`.
 */
export type DueStep =
  | { readonly seq: number; readonly action: 'drop'; readonly expired: boolean }
  | { readonly seq: number; readonly action: 'bury' }
  | { readonly seq: number; readonly action: 'lease'; readonly token: string };

/** Plans one page of due messages, lowest seq first, until the claim has its limit or its budget. */
export function planDue(pass: ClaimPass, rows: readonly DueRow[]): DueStep[] {
  const steps: DueStep[] = [];
  for (const row of rows) {
    if (pass.skips >= SKIP_BUDGET) break;
    if (row.deleted === null || Boolean(row.deleted)) {
      steps.push({ seq: row.seq, action: 'drop', expired: false });
    } else if (isExpired(row, pass.now)) {
      steps.push({ seq: row.seq, action: 'drop', expired: true });
      pass.expired++;
    } else if (row.dead) {
      steps.push({ seq: row.seq, action: 'bury' });
    } else {
      const token = newToken();
      steps.push({ seq: row.seq, action: 'lease', token });
      pass.taken.push({ seq: row.seq, deliveries: row.deliveries + 1, token });
      continue;
    }
    pass.skips++;
  }
  return steps;
}

/** A new entry the group records: `delay` it until it may be delivered, or `lease` it under `token`. */
export type NewStep =
  | { readonly seq: number; readonly action: 'delay'; readonly dueMs: number }
  | { readonly seq: number; readonly action: 'lease'; readonly token: string };

/**
 * Plans one page of entries beyond the position: answers the steps and the position the claim has
 * come to (the last row it looked at), and whether it stopped before the end of the page.
 */
export function planNew(pass: ClaimPass, position: number, rows: readonly NewRow[]): { steps: NewStep[]; position: number; stopped: boolean } {
  const steps: NewStep[] = [];
  for (const row of rows) {
    if (!canTake(pass)) return { steps, position, stopped: true };
    position = row.seq;
    if (row.deleted) {
      pass.skips++;
    } else if (isExpired(row, pass.now)) {
      pass.expired++;
      pass.skips++;
    } else if (row.deliver_after_ms !== null && row.deliver_after_ms > pass.now) {
      if (!row.pending) steps.push({ seq: row.seq, action: 'delay', dueMs: row.deliver_after_ms });
      pass.skips++;
    } else if (row.pending) {
      pass.skips++;
    } else {
      const token = newToken();
      steps.push({ seq: row.seq, action: 'lease', token });
      pass.taken.push({ seq: row.seq, deliveries: 1, token });
    }
  }
  return { steps, position, stopped: false };
}

/** What the claim hands out, lowest seq first, each with its content as `change` reads it. */
export function claimed(pass: ClaimPass, change: (seq: number) => Change): ClaimedMessage[] {
  return [...pass.taken].sort((a, b) => a.seq - b.seq).map((t) => ({
    ...change(t.seq),
    receipt: formatReceipt(pass.group.id, t.seq, t.deliveries, t.token),
    deliveries: t.deliveries,
    leaseExpires: pass.leaseExpires,
  }));
}

export function isExpired(row: { expires_ms: number | null }, now: number): boolean {
  return row.expires_ms !== null && row.expires_ms <= now;
}

/**
 * The group's next due time from its earliest pending due time. Any live entry beyond the position
 * makes the group due now: it may be delayed or expired, but only a claim, which records or counts
 * what it passes over, can tell without scanning the lag.
 */
export function nextDueOf(earliestDue: number | null | undefined, liveBeyondPosition: boolean, now: number): NextDue {
  const due = earliestDue ?? undefined;
  return liveBeyondPosition ? Math.min(due ?? now, now) : due;
}

/** The counts over a group's pending messages whose entries still exist. */
export interface Tally {
  pending: number;
  dead: number;
  delayed: number;
  total: number;
  /** The lowest seq neither acked nor dead. */
  lowest: number | null;
}

/** What a status is computed from, as each store reads it. */
export interface GroupFacts {
  readonly tally: Tally;
  /** Live entries beyond the position. */
  readonly lagging: number;
  /** app:edited (epoch ms) of the oldest message neither acked nor dead. */
  readonly oldestEditedMs: number | undefined;
  readonly nextDue: NextDue;
}

/** The lowest seq whose age the status reports: the oldest pending one, or the first not yet delivered. */
export function oldestUnacked(tally: Tally, firstBeyondPosition: number | undefined): number | undefined {
  const seqs = [tally.lowest, firstBeyondPosition].filter((seq): seq is number => seq !== null && seq !== undefined);
  return seqs.length ? Math.min(...seqs) : undefined;
}

export function describeGroup(group: GroupRow, facts: GroupFacts, now: number): GroupStatus {
  const { tally } = facts;
  return {
    feed: group.feed,
    group: group.name,
    settings: { leaseSeconds: group.lease_ms / 1000, maxDeliveries: group.max_deliveries, start: group.start },
    createdAt: group.created_ms,
    position: group.position,
    ackFloor: tally.lowest === null ? group.position : Math.min(group.position, tally.lowest - 1),
    pending: tally.pending,
    waiting: tally.total - tally.pending - tally.dead,
    lag: facts.lagging + tally.delayed,
    dead: tally.dead,
    expired: group.expired,
    oldestUnackedMs: facts.oldestEditedMs === undefined ? undefined : Math.max(0, now - facts.oldestEditedMs),
    nextDue: facts.nextDue,
  };
}

export function groupNotFound(ref: GroupRef): AtomMQError {
  return new AtomMQError('GROUP_NOT_FOUND', `feed "${ref.feed}" has no consumer group "${ref.group}"`);
}

export function ms(seconds: number | undefined): number | null {
  return seconds === undefined ? null : seconds * 1000;
}
