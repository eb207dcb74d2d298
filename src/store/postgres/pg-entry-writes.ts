/**
 * Replacements, deletions and retention inside a write batch (pg-batch.ts). As on SQLite, each
 * write checks everything that can refuse it before it changes anything, so a refused write leaves
 * the batch intact without a savepoint. Appends are pg-appends.ts.
 */
import type { ChangeRequest, Retention, StoredEntry } from '../store.js';
import { checkChange } from '../write-rules.js';
import type { Batch } from './pg-batch.js';
import { statement } from './pg-connection.js';

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
