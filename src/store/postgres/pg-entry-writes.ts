/**
 * Appends, replacements, deletions and retention inside a write batch (pg-batch.ts). As on SQLite,
 * each write checks everything that can refuse it before it changes anything, so a refused write
 * leaves the batch intact without a savepoint. Appends that arrive together are stored together:
 * one query finds what they may retry or collide with, one INSERT stores them all.
 */
import { AtomMQError } from '../../errors/index.js';
import type { AppendRequest, AppendResult, ChangeRequest, Retention, StoredEntry } from '../store.js';
import { checkChange, chosenCandidate, retried, type RetryName } from '../write-rules.js';
import type { Batch } from './pg-batch.js';
import { statement } from './pg-connection.js';
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

const INSERT = statement('atommq.append.insert', `
  INSERT INTO atommq_entries (seq, feed, key, atom_id, idempotency_key, client_id, fingerprint, published, edited, edited_ms,
    xml, json, deliver_after_ms, expires_ms)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::bigint[])`);

const MEMBER = statement('atommq.member.current', 'SELECT seq, deleted FROM atommq_entries WHERE feed = $1 AND key = $2');
/** A PUT or DELETE moves the row to its new seq; the POST's retry identity stays with it. */
const MOVE = statement('atommq.member.move', `
  UPDATE atommq_entries SET seq = $2, deleted = $3, atom_id = $4, published = $5, edited = $6, edited_ms = $7, xml = $8, json = $9,
    deliver_after_ms = NULL, expires_ms = NULL
  WHERE seq = $1`);

const PRUNE_BATCH = 1000;
const PRUNE_COUNT = statement('atommq.prune.count',
  'DELETE FROM atommq_entries WHERE feed = $1 AND seq <= (SELECT seq FROM atommq_entries WHERE feed = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)');
const PRUNE_AGE = statement('atommq.prune.age',
  'DELETE FROM atommq_entries WHERE seq IN (SELECT seq FROM atommq_entries WHERE feed = $1 ORDER BY seq LIMIT $2) AND edited_ms < $3');

function named(via: Via, feed: string, value: string): string {
  return `${via}\u0000${feed}\u0000${value}`;
}

/** Stores a run of appends, in order; an append may retry or collide with one earlier in the run. */
export async function appendRun(batch: Batch, requests: readonly AppendRequest[]): Promise<Array<Outcome<AppendResult>>> {
  const known = await lookUp(batch, requests);
  const columns: unknown[][] = Array.from({ length: 14 }, () => []);
  const outcomes = requests.map((request): Outcome<AppendResult> => {
    try {
      const { feed, retry } = request;
      const earlier = retried(request, (name, value) => known.get(named(VIA[name], feed, value)));
      if (earlier) return { ok: true, value: { created: false, entry: withoutFingerprint(earlier) } };
      const chosen = chosenCandidate(request, (key) => known.has(named('k', feed, key)));
      const entry: StoredEntry = { seq: batch.takeSeq(), feed, key: chosen.key, deleted: false, ...chosen.revision };
      const found: Found = { ...entry, fingerprint: retry?.fingerprint ?? null };
      known.set(named('k', feed, entry.key), found);
      if (retry?.idempotencyKey !== undefined) known.set(named('i', feed, retry.idempotencyKey), found);
      if (retry?.clientId !== undefined) known.set(named('c', feed, retry.clientId), found);
      const r = chosen.revision;
      [entry.seq, feed, entry.key, r.atomId, retry?.idempotencyKey ?? null, retry?.clientId ?? null, retry?.fingerprint ?? null,
        r.published, r.edited, Date.parse(r.edited), r.xml, r.json, request.deliverAfter ?? null, request.expires ?? null]
        .forEach((value, i) => columns[i]!.push(value));
      batch.changes.push(entry);
      return { ok: true, value: { created: true, entry } };
    } catch (error) {
      if (error instanceof AtomMQError) return { ok: false, error };
      throw error;
    }
  });
  if (columns[0]!.length) await batch.client.query(INSERT(columns));
  return outcomes;
}

/** One query for everything the run's appends may find already stored; none when they name nothing. */
async function lookUp(batch: Batch, requests: readonly AppendRequest[]): Promise<Map<string, Found>> {
  const lists: string[][] = Array.from({ length: 6 }, () => []);
  const add = (list: number, feed: string, value: string | undefined): void => {
    if (value === undefined) return;
    lists[list]!.push(feed);
    lists[list + 1]!.push(value);
  };
  for (const { feed, retry, candidates } of requests) {
    add(0, feed, retry?.idempotencyKey);
    add(2, feed, retry?.clientId);
    // The last candidate is a fresh UUID: nobody has it.
    for (const candidate of candidates.slice(0, -1)) add(4, feed, candidate.key);
  }
  const known = new Map<string, Found>();
  if (lists.every((list) => list.length === 0)) return known;
  const { rows } = await batch.client.query<EntryRow & { via: Via; value: string; fingerprint: string | null }>(LOOKUP(lists));
  for (const row of rows) known.set(named(row.via, row.feed, row.value), { ...toEntry(row), fingerprint: row.fingerprint });
  return known;
}

function withoutFingerprint(found: Found): StoredEntry {
  const { fingerprint: _, ...entry } = found;
  return entry;
}

/** Replaces or deletes an entry: it moves to a new seq, as a revision or as its tombstone. */
export async function change(batch: Batch, request: ChangeRequest, deleting: boolean): Promise<StoredEntry> {
  const { rows } = await batch.client.query<{ seq: number; deleted: boolean }>(MEMBER([request.feed, request.key]));
  const old = checkChange(request, rows[0]);
  const r = request.revision;
  const entry: StoredEntry = { seq: batch.takeSeq(), feed: request.feed, key: request.key, deleted: deleting, ...r };
  await batch.client.query(MOVE([old, entry.seq, deleting, r.atomId, r.published, r.edited, Date.parse(r.edited), r.xml, r.json]));
  batch.changes.push(entry);
  return entry;
}

/** Deletes what the feed's retention no longer keeps: beyond the newest `maxEntries`, then older than `maxAgeSeconds`. */
export async function prune(batch: Batch, feed: string, retention: Retention, now: number): Promise<number> {
  let removed = 0;
  if (retention.maxEntries !== undefined) removed += (await batch.client.query(PRUNE_COUNT([feed, retention.maxEntries]))).rowCount ?? 0;
  if (retention.maxAgeSeconds !== undefined) {
    const cutoff = now - retention.maxAgeSeconds * 1000;
    // In batches, oldest first: seq order is edit order, so the first young row ends the sweep.
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH;) {
      n = (await batch.client.query(PRUNE_AGE([feed, PRUNE_BATCH, cutoff]))).rowCount ?? 0;
      removed += n;
    }
  }
  return removed;
}
