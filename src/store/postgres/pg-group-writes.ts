/**
 * The state machine of consumer groups on PostgreSQL, inside a write batch: each write locks its
 * group's row and applies the steps that ../group-rules.ts and ../receipts.ts plan, a page of rows
 * per statement. Like the entry writes (pg-entry-writes.ts), each one refuses (GROUP_NOT_FOUND, a
 * position out of range) before it changes anything, so a refused write leaves the batch intact
 * without a savepoint: two round trips fewer per write, while the batch holds the log's lock.
 */
import { AtomMQError } from '../../errors/index.js';
import type { Due, GroupOp, GroupOutcome } from '../group-ops.js';
import {
  canTake, claimed, ms, planDue, planNew, SCAN_BATCH, startPass, type ClaimPass, type DueRow, type DueStep, type GroupRow,
  type MessageRow, type NewRow, type NewStep,
} from '../group-rules.js';
import {
  GROUP_DEFAULTS, type ClaimRequest, type ClaimResult, type GroupRef, type GroupSettings, type MoveRequest, type RequeueResult,
} from '../groups.js';
import * as receipts from '../receipts.js';
import type { Change, Representation } from '../store.js';
import { statement } from './pg-connection.js';
import { existingGroup, findGroup, GROUP_COLUMNS, isDead, MESSAGE_COLUMNS, nextDue, type Db } from './pg-group-sql.js';
import { changeColumns, toChange } from './pg-pages.js';

const CREATE = statement('atommq.group.create', `
  INSERT INTO atommq_groups (feed, name, lease_ms, max_deliveries, start, position, created_ms)
  VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 = 'latest' THEN (SELECT COALESCE(max(seq), 0) FROM atommq_entries WHERE feed = $1) ELSE 0 END, $6)
  RETURNING ${GROUP_COLUMNS}`);
const SETTINGS = statement('atommq.group.settings',
  'UPDATE atommq_groups SET lease_ms = COALESCE($2, lease_ms), max_deliveries = COALESCE($3, max_deliveries) WHERE id = $1');
const ADVANCE = statement('atommq.group.advance', 'UPDATE atommq_groups SET position = $2, expired = expired + $3 WHERE id = $1');
const FORGET = statement('atommq.group.forget', 'DELETE FROM atommq_group_messages WHERE grp = $1');
const REMOVE = statement('atommq.group.remove',
  'WITH messages AS (DELETE FROM atommq_group_messages WHERE grp = $1) DELETE FROM atommq_groups WHERE id = $1');
const NEWEST = statement('atommq.group.newest', 'SELECT COALESCE(max(seq), 0) AS seq FROM atommq_entries WHERE feed = $1');
const DUE_ROWS = statement('atommq.group.due-rows', `
  SELECT m.seq, m.deliveries, ${isDead('$2', '$3')} AS dead, e.deleted, e.expires_ms
  FROM atommq_group_messages m LEFT JOIN atommq_entries e ON e.seq = m.seq
  WHERE m.grp = $1 AND m.due_ms <= $2 ORDER BY m.seq LIMIT $4`);
const NEW_ROWS = statement('atommq.group.new-rows', `
  SELECT e.seq, e.deleted, e.deliver_after_ms, e.expires_ms, m.seq IS NOT NULL AS pending
  FROM atommq_entries e LEFT JOIN atommq_group_messages m ON m.grp = $1 AND m.seq = e.seq
  WHERE e.feed = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4`);
const DROP = statement('atommq.group.drop', 'DELETE FROM atommq_group_messages WHERE grp = $1 AND seq = ANY($2::bigint[])');
const BURY = statement('atommq.group.bury',
  "UPDATE atommq_group_messages SET state = 'dead', due_ms = NULL WHERE grp = $1 AND seq = ANY($2::bigint[])");
const RELEASE = statement('atommq.group.lease-again', `
  UPDATE atommq_group_messages m SET state = 'leased', deliveries = m.deliveries + 1, receipt = u.token, due_ms = $4
  FROM unnest($2::bigint[], $3::text[]) AS u(seq, token) WHERE m.grp = $1 AND m.seq = u.seq`);
const INSERT = statement('atommq.group.insert', `
  INSERT INTO atommq_group_messages (grp, seq, state, deliveries, receipt, due_ms)
  SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::integer[], $5::text[], $6::bigint[])`);
const MESSAGES = statement('atommq.group.messages',
  `SELECT ${MESSAGE_COLUMNS} FROM atommq_group_messages WHERE grp = $1 AND seq = ANY($2::bigint[])`);
const SETTLE = statement('atommq.group.settle', `
  UPDATE atommq_group_messages m SET state = u.state, due_ms = u.due_ms, reason = u.reason
  FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[]) AS u(seq, state, due_ms, reason) WHERE m.grp = $1 AND m.seq = u.seq`);
const REQUEUE = statement('atommq.group.requeue', `
  UPDATE atommq_group_messages m SET state = 'waiting', due_ms = $2, base = m.deliveries
  WHERE m.grp = $1 AND ($4::bigint[] IS NULL OR m.seq = ANY($4::bigint[])) AND ${isDead('$2', '$3')} RETURNING m.seq`);
const CONTENTS: Record<Representation | 'both', ReturnType<typeof statement>> = {
  both: contents(undefined), xml: contents('xml'), json: contents('json'),
};

function contents(only: Representation | undefined): ReturnType<typeof statement> {
  return statement(`atommq.group.contents.${only ?? 'both'}`, `SELECT ${changeColumns(only)} FROM atommq_entries e WHERE e.seq = ANY($1::bigint[])`);
}

/** Applies one group write inside the batch's transaction. */
export async function applyGroupOp(db: Db, op: GroupOp, now: number): Promise<GroupOutcome> {
  if (op.action === 'claim') return claim(db, op.request, now);
  if (op.action === 'declare') {
    const { settings } = op.request;
    const found = await findGroup(db, op.request, true);
    if (found) await db.query(SETTINGS([found.id, ms(settings.leaseSeconds), settings.maxDeliveries ?? null]));
    return due(db, found ?? await create(db, op.request, settings, now), now);
  }
  const group = await existingGroup(db, op.request, true);
  switch (op.action) {
    case 'ack': return { results: await settleAll(db, group, op.request.receipts, receipts.ack), ...await due(db, group, now) };
    case 'nack': return { results: await settleAll(db, group, op.request.receipts, receipts.nack(group, op.request, now)), ...await due(db, group, now) };
    case 'extend': return { results: await settleAll(db, group, op.request.receipts, receipts.extend(group, op.request, now)), ...await due(db, group, now) };
    case 'requeue': return requeue(db, group, op.request.seqs, now);
    case 'move': return move(db, group, op.request, now);
    case 'remove':
      await db.query(REMOVE([group.id]));
      return { nextDue: undefined };
  }
}

async function due(db: Db, group: GroupRow, now: number): Promise<Due> {
  return { nextDue: await nextDue(db, group, now) };
}

async function create(db: Db, ref: GroupRef, settings: Partial<GroupSettings>, now: number): Promise<GroupRow> {
  const { rows } = await db.query<GroupRow>(CREATE([ref.feed, ref.group, ms(settings.leaseSeconds ?? GROUP_DEFAULTS.leaseSeconds),
    settings.maxDeliveries ?? GROUP_DEFAULTS.maxDeliveries, settings.start ?? GROUP_DEFAULTS.start, now]));
  return rows[0]!;
}

/** Due messages first (they are behind the position), then new entries; lowest seq first throughout. */
async function claim(db: Db, request: ClaimRequest, now: number): Promise<ClaimResult> {
  const existing = await findGroup(db, request, true);
  const group = existing ?? await create(db, request, request.settings ?? {}, now);
  const pass = startPass(group, request, now);
  await redeliver(db, pass);
  const position = await advance(db, pass);
  await db.query(ADVANCE([group.id, position, pass.expired]));
  const rows = pass.taken.length ? (await db.query<Change>(CONTENTS[request.only ?? 'both']([pass.taken.map((t) => t.seq)]))).rows : [];
  const bySeq = new Map(rows.map((row) => [row.seq, toChange(row)]));
  return { messages: claimed(pass, (seq) => bySeq.get(seq)!), created: !existing, ...await due(db, { ...group, position }, now) };
}

async function redeliver(db: Db, pass: ClaimPass): Promise<void> {
  const { group, now } = pass;
  for (let more = true; more && canTake(pass);) {
    const limit = pass.limit - pass.taken.length;
    const { rows } = await db.query<DueRow>(DUE_ROWS([group.id, now, group.max_deliveries, limit]));
    more = rows.length === limit;
    const steps = planDue(pass, rows);
    const of = <A extends DueStep['action']>(action: A): Array<Extract<DueStep, { action: A }>> =>
      steps.filter((s): s is Extract<DueStep, { action: A }> => s.action === action);
    const [drops, burials, leases] = [of('drop'), of('bury'), of('lease')];
    if (drops.length) await db.query(DROP([group.id, drops.map((s) => s.seq)]));
    if (burials.length) await db.query(BURY([group.id, burials.map((s) => s.seq)]));
    if (leases.length) await db.query(RELEASE([group.id, leases.map((s) => s.seq), leases.map((s) => s.token), pass.leaseExpires]));
  }
}

/** Hands out new entries past the position; answers the new position. */
async function advance(db: Db, pass: ClaimPass): Promise<number> {
  const { group } = pass;
  let position = group.position;
  for (let more = true; more;) {
    const { rows } = await db.query<NewRow>(NEW_ROWS([group.id, group.feed, position, SCAN_BATCH]));
    more = rows.length === SCAN_BATCH;
    const plan = planNew(pass, position, rows);
    if (plan.steps.length) await db.query(INSERT([group.id, ...insertColumns(plan.steps, pass.leaseExpires)]));
    position = plan.position;
    if (plan.stopped) break;
  }
  return position;
}

/** Columns seq, state, deliveries, receipt, due_ms of the rows new steps insert. */
function insertColumns(steps: readonly NewStep[], leaseExpires: number): unknown[][] {
  return [
    steps.map((s) => s.seq),
    steps.map((s) => (s.action === 'delay' ? 'waiting' : 'leased')),
    steps.map((s) => (s.action === 'delay' ? 0 : 1)),
    steps.map((s) => (s.action === 'delay' ? null : s.token)),
    steps.map((s) => (s.action === 'delay' ? s.dueMs : leaseExpires)),
  ];
}

/**
 * Settles receipts in the request's order, as if one at a time: their messages are read in one
 * query, each receipt sees what the ones before it did, and the end state of each message is
 * written back in one statement per kind.
 */
async function settleAll(db: Db, group: GroupRow, list: readonly string[], decide: receipts.Decide): Promise<receipts.Settlement['result'][]> {
  const parsed = list.map((receipt) => receipts.parseReceipt(group, receipt));
  const seqs = [...new Set(parsed.flatMap((p) => ('refused' in p ? [] : [p.seq])))];
  const rows = new Map<number, MessageRow | undefined>();
  if (seqs.length) for (const row of (await db.query<MessageRow>(MESSAGES([group.id, seqs]))).rows) rows.set(row.seq, row);
  const touched = new Set<number>();
  const results = parsed.map((p) => {
    if ('refused' in p) return p.refused;
    const row = rows.get(p.seq);
    const { result, write } = receipts.settle(group, p, row, decide);
    if (write && row) {
      rows.set(p.seq, receipts.afterWrite(row, write));
      touched.add(p.seq);
    }
    return result;
  });
  const removed = [...touched].filter((seq) => rows.get(seq) === undefined);
  const kept = [...touched].map((seq) => rows.get(seq)).filter((row): row is MessageRow => row !== undefined);
  if (removed.length) await db.query(DROP([group.id, removed]));
  if (kept.length) {
    await db.query(SETTLE([group.id, kept.map((r) => r.seq), kept.map((r) => r.state), kept.map((r) => r.due_ms), kept.map((r) => r.reason)]));
  }
  return results;
}

async function requeue(db: Db, group: GroupRow, seqs: readonly number[] | undefined, now: number): Promise<RequeueResult> {
  const unique = seqs === undefined ? null : [...new Set(seqs)].sort((a, b) => a - b);
  const { rows } = await db.query<{ seq: number }>(REQUEUE([group.id, now, group.max_deliveries, unique]));
  const requeued = rows.map((r) => r.seq).sort((a, b) => a - b);
  const notDead = (unique ?? []).filter((seq) => !requeued.includes(seq));
  return { requeued, notDead, ...await due(db, group, now) };
}

/** Moves the position; `discard` (a purge) also forgets every message the group holds. */
async function move(db: Db, group: GroupRow, { position: to, discard }: MoveRequest, now: number): Promise<Due> {
  const newest = (await db.query<{ seq: number }>(NEWEST([group.feed]))).rows[0]?.seq ?? 0;
  const position = to === 'earliest' ? 0 : to === 'latest' ? newest : to;
  if (position > newest) {
    throw new AtomMQError('INVALID_PARAMETER', `position ${position} is beyond the newest seq of feed "${group.feed}", ${newest}`);
  }
  if (discard) await db.query(FORGET([group.id]));
  await db.query(ADVANCE([group.id, position, 0]));
  return due(db, { ...group, position }, now);
}
