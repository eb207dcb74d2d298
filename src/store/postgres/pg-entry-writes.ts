/**
 * Replacements and deletions inside a write batch (pg-batch.ts). As on SQLite, each write checks
 * everything that can refuse it before it changes anything, so a refused write leaves the batch
 * intact without a savepoint. Appends are pg-appends.ts, retention pg-pruner.ts.
 */
import type { ChangeRequest, StoredEntry } from '../store.js';
import { checkChange } from '../write-rules.js';
import type { Batch } from './pg-batch.js';
import { statement } from './pg-connection.js';

const MEMBER = statement('atommq.member.current', 'SELECT seq, deleted FROM atommq_entries WHERE feed = $1 AND key = $2');
/** A PUT or DELETE moves the row to its new seq; the POST's retry identity stays with it, and a PUT's schedule is the entry's. */
const MOVE = statement('atommq.member.move', `
  UPDATE atommq_entries SET seq = $2, deleted = $3, atom_id = $4, published = $5, edited = $6, edited_ms = $7, xml = $8, json = $9,
    deliver_after_ms = $10, expires_ms = $11
  WHERE seq = $1`);

/** Replaces or deletes an entry: it moves to a new seq, as a revision or as its tombstone. */
export async function change(batch: Batch, request: ChangeRequest, deleting: boolean): Promise<StoredEntry> {
  const { rows } = await batch.client.query<{ seq: number; deleted: boolean }>(MEMBER([request.feed, request.key]));
  const old = checkChange(request, rows[0]);
  const r = request.revision;
  const entry: StoredEntry = { seq: batch.takeSeq(), feed: request.feed, key: request.key, deleted: deleting, ...r };
  const schedule = deleting ? [null, null] : [request.deliverAfter ?? null, request.expires ?? null];
  await batch.client.query(MOVE([old, entry.seq, deleting, r.atomId, r.published, r.edited, Date.parse(r.edited), r.xml, r.json, ...schedule]));
  batch.changes.push(entry);
  return entry;
}
