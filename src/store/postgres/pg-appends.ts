/**
 * Appends on PostgreSQL. Appends that arrive together are stored together: one query finds what
 * they may retry or collide with, and one INSERT stores them all, either inside a write batch
 * (pg-batch.ts) or, for a batch of appends alone, as a single statement that takes the log's lock,
 * stores, moves the head and notifies the other servers, committed on its own: the lock is then
 * held for that statement and its commit only, not for round trips between the server and the
 * database, which is what lets several servers' batches follow each other closely.
 */
import { AtomMQError } from '../../errors/index.js';
import type { AppendRequest, AppendResult, Candidate, StoredEntry } from '../store.js';
import { chosenCandidate, retried, type RetryName } from '../write-rules.js';
import type { Batch } from './pg-batch.js';
import { statement } from './pg-connection.js';
import type { Db } from './pg-group-sql.js';
import { toEntry, type EntryRow } from './pg-pages.js';

/** A write's own outcome: a refusal fails that write only. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AtomMQError };

type Via = 'i' | 'c' | 'k';
const VIA: Record<RetryName, Via> = { idempotencyKey: 'i', clientId: 'c' };

type Found = StoredEntry & { readonly fingerprint: string | null };

const FOUND_COLUMNS = 'e.seq, e.feed, e.key, e.atom_id, e.deleted, e.published, e.edited, e.xml, e.json, e.fingerprint';

/** Rows stored under the idempotency keys, client atom:ids and candidate keys a run of appends names. */
const LOOKUP = statement('atommq.append.lookup', `
  SELECT 'i' AS via, l.value, ${FOUND_COLUMNS} FROM unnest($1::text[], $2::text[]) AS l(feed, value)
    JOIN atommq_entries e ON e.feed = l.feed AND e.idempotency_key = l.value
  UNION ALL
  SELECT 'c', l.value, ${FOUND_COLUMNS} FROM unnest($3::text[], $4::text[]) AS l(feed, value)
    JOIN atommq_entries e ON e.feed = l.feed AND e.client_id = l.value
  UNION ALL
  SELECT 'k', l.value, e.seq, e.feed, e.key, e.atom_id, e.deleted, e.published, e.edited, '', '', NULL
    FROM unnest($5::text[], $6::text[]) AS l(feed, value) JOIN atommq_entries e ON e.feed = l.feed AND e.key = l.value`);

/** The columns of a new row after its seq, and their types as arrays, in the order `columnsOf` gives them. */
const COLUMNS = 'feed, key, atom_id, idempotency_key, client_id, fingerprint, published, edited, edited_ms, xml, json, deliver_after_ms, expires_ms';
const ARRAYS = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'bigint', 'bigint']
  .map((type, i) => `$${i + 2}::${type}[]`).join(', ');

const INSERT = statement('atommq.append.insert', `
  INSERT INTO atommq_entries (seq, ${COLUMNS}) SELECT * FROM unnest($1::bigint[], ${ARRAYS})`);

/**
 * Takes the lock by moving the head past the rows (waiting while another server's batch holds it),
 * numbers the rows from the old head, and notifies, in one statement. $1 is the number of rows,
 * $15 the channel and $16 the notification's text before the newest seq; answers the old head.
 */
const INSERT_ALONE = statement('atommq.append.alone', `
  WITH head AS (UPDATE atommq_head SET seq = seq + $1 WHERE id = 1 RETURNING seq - $1 AS prev),
  stored AS (
    INSERT INTO atommq_entries (seq, ${COLUMNS})
    SELECT head.prev + u.n, u.${COLUMNS.split(', ').join(', u.')}
    FROM head, unnest(${ARRAYS}) WITH ORDINALITY AS u(${COLUMNS}, n))
  SELECT prev, pg_notify($15, $16::text || (prev + $1)) FROM head`);

function named(via: Via, feed: string, value: string): string {
  return `${via}\u0000${feed}\u0000${value}`;
}

interface Name {
  readonly via: Via;
  readonly value: string;
  /** Via, feed and value in one string, as the map of known names holds it. */
  readonly name: string;
}

function nameOf(via: Via, feed: string, value: string): Name {
  return { via, value, name: named(via, feed, value) };
}

/** What would retry this append: its idempotency key and its client atom:id. */
function retryNames({ feed, retry }: AppendRequest): Name[] {
  return [
    ...(retry?.idempotencyKey === undefined ? [] : [nameOf('i', feed, retry.idempotencyKey)]),
    ...(retry?.clientId === undefined ? [] : [nameOf('c', feed, retry.clientId)]),
  ];
}

/** The names an append may be found by: its retry identity, and each candidate key but the last (a fresh UUID). */
function namesOf(request: AppendRequest): Name[] {
  return [...retryNames(request), ...request.candidates.slice(0, -1).map((c) => nameOf('k', request.feed, c.key))];
}

/** One query for everything the appends may find already stored; none when they name nothing. */
async function lookUp(db: Db, requests: readonly AppendRequest[]): Promise<Map<string, Found>> {
  const lists: string[][] = Array.from({ length: 6 }, () => []);
  const list: Record<Via, number> = { i: 0, c: 2, k: 4 };
  for (const request of requests) {
    for (const { via, value } of namesOf(request)) {
      lists[list[via]]!.push(request.feed);
      lists[list[via] + 1]!.push(value);
    }
  }
  const known = new Map<string, Found>();
  if (lists.every((l) => l.length === 0)) return known;
  const { rows } = await db.query<EntryRow & { via: Via; value: string; fingerprint: string | null }>(LOOKUP(lists));
  for (const row of rows) known.set(named(row.via, row.feed, row.value), { ...toEntry(row), fingerprint: row.fingerprint });
  return known;
}

/** The entry an append retries (`earlier`), or the candidate it is stored under; throws IDEMPOTENCY_CONFLICT. */
function decide(request: AppendRequest, known: ReadonlyMap<string, Found>): { earlier: Found } | { chosen: Candidate } {
  const { feed } = request;
  const earlier = retried(request, (name, value) => known.get(named(VIA[name], feed, value)));
  return earlier ? { earlier } : { chosen: chosenCandidate(request, (key) => known.has(named('k', feed, key))) };
}

/** A new row's columns after its seq, in COLUMNS' order. */
function columnsOf(request: AppendRequest, { key, revision: r }: Candidate): unknown[] {
  const { retry } = request;
  return [request.feed, key, r.atomId, retry?.idempotencyKey ?? null, retry?.clientId ?? null, retry?.fingerprint ?? null,
    r.published, r.edited, Date.parse(r.edited), r.xml, r.json, request.deliverAfter ?? null, request.expires ?? null];
}

/** Column-wise arrays of rows, for unnest. */
function transpose(rows: readonly unknown[][], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));
}

function refusal(error: unknown): Outcome<never> {
  if (error instanceof AtomMQError) return { ok: false, error };
  throw error;
}

function duplicate(found: Found): Outcome<AppendResult> {
  const { fingerprint: _, ...entry } = found;
  return { ok: true, value: { created: false, entry } };
}

/** Decides a run of appends inside a batch, in order, taking seqs; an append may retry or collide with one earlier in the run. */
async function decideRun(batch: Batch, requests: readonly AppendRequest[]): Promise<{ outcomes: Array<Outcome<AppendResult>>; rows: unknown[][] }> {
  const known = await lookUp(batch.client, requests);
  const rows: unknown[][] = [];
  const outcomes = requests.map((request): Outcome<AppendResult> => {
    try {
      const decision = decide(request, known);
      if ('earlier' in decision) return duplicate(decision.earlier);
      const entry: StoredEntry = { seq: batch.takeSeq(), feed: request.feed, key: decision.chosen.key, deleted: false, ...decision.chosen.revision };
      const found: Found = { ...entry, fingerprint: request.retry?.fingerprint ?? null };
      for (const { name } of [...retryNames(request), nameOf('k', request.feed, entry.key)]) known.set(name, found);
      rows.push([entry.seq, ...columnsOf(request, decision.chosen)]);
      batch.changes.push(entry);
      return { ok: true, value: { created: true, entry } };
    } catch (error) {
      return refusal(error);
    }
  });
  return { outcomes, rows };
}

async function insert(batch: Batch, rows: readonly unknown[][]): Promise<void> {
  if (rows.length) await batch.client.query(INSERT(transpose(rows, 14)));
}

/** Stores a run of appends inside a batch; each is refused on its own. */
export async function appendRun(batch: Batch, requests: readonly AppendRequest[]): Promise<Array<Outcome<AppendResult>>> {
  const { outcomes, rows } = await decideRun(batch, requests);
  await insert(batch, rows);
  return outcomes;
}

/**
 * Stores appends all or nothing (a QST push): when one is refused, none is stored, its seqs are
 * handed out again, and the error names the message.
 */
export async function appendAll(batch: Batch, requests: readonly AppendRequest[]): Promise<AppendResult[]> {
  const mark = batch.mark();
  const { outcomes, rows } = await decideRun(batch, requests);
  const refused = outcomes.findIndex((o) => !o.ok);
  const outcome = outcomes[refused];
  if (outcome && !outcome.ok) {
    batch.rewind(mark);
    throw new AtomMQError(outcome.error.code, `message ${refused + 1} of ${requests.length}: ${outcome.error.message}`);
  }
  await insert(batch, rows);
  return outcomes.map((o) => (o as { value: AppendResult }).value);
}

/**
 * Whether `appendAlone` can store these appends: no two of them name the same idempotency key,
 * atom:id or key, so each is decided against what is stored alone.
 */
export function independent(requests: readonly AppendRequest[]): boolean {
  const names = requests.flatMap((r) => [...namesOf(r), nameOf('k', r.feed, r.candidates.at(-1)?.key ?? '')].map((n) => n.name));
  return new Set(names).size === names.length;
}

export interface AloneResult {
  readonly prev: number;
  readonly last: number;
  readonly changes: StoredEntry[];
  readonly outcomes: Array<Outcome<AppendResult>>;
}

/**
 * Stores independent appends in one statement, committed on its own (see the top of this file).
 * What they may retry is looked up first, outside the lock: should another server store one of
 * their names in between, a unique index refuses the statement (23505, nothing stored), and the
 * caller stores them in a batch instead, which finds it.
 */
export async function appendAlone(db: Db, requests: readonly AppendRequest[], channel: string, announce: string): Promise<AloneResult> {
  const known = await lookUp(db, requests);
  const decisions = requests.map((request) => {
    try {
      return decide(request, known);
    } catch (error) {
      return refusal(error);
    }
  });
  const stored = requests.flatMap((request, i) => {
    const d = decisions[i]!;
    return 'chosen' in d ? [{ request, chosen: d.chosen, index: i }] : [];
  });
  let prev = 0;
  if (stored.length) {
    const arrays = transpose(stored.map((s) => columnsOf(s.request, s.chosen)), 13);
    prev = (await db.query<{ prev: number }>(INSERT_ALONE([stored.length, ...arrays, channel, announce]))).rows[0]!.prev;
  }
  const changes = stored.map((s, n): StoredEntry => ({ seq: prev + n + 1, feed: s.request.feed, key: s.chosen.key, deleted: false, ...s.chosen.revision }));
  const created = new Map(stored.map((s, n) => [s.index, changes[n]!]));
  const outcomes = decisions.map((d, i): Outcome<AppendResult> => {
    if ('earlier' in d) return duplicate(d.earlier);
    if ('chosen' in d) return { ok: true, value: { created: true, entry: created.get(i)! } };
    return d;
  });
  return { prev, last: prev + stored.length, changes, outcomes };
}
