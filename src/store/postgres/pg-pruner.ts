/**
 * One bounded round of retention for one feed inside a write batch, as sqlite/pruner.ts does it
 * on SQLite (which says why each part is a prefix of the feed): at most PRUNE_BATCH rows of each
 * kind read and deleted, the feed's watermark (`atommq_pruned`) moved in the same transaction.
 */
import { PRUNE_BATCH, type Retention } from '../store.js';
import type { Batch } from './pg-batch.js';
import { statement } from './pg-connection.js';

type Cut = { seq: number; edited_ms: number };

const COUNT_CUT = statement('atommq.prune.count-cut', 'SELECT seq FROM atommq_entries WHERE feed = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2');
const LOWEST_POSITION = statement('atommq.prune.lowest-position', 'SELECT min(position) AS position FROM atommq_groups WHERE feed = $1');
/** The feed's oldest rows up to $2, stepping over those a group holds leased or waiting when $3 (keepUnacked). */
const PREFIX = statement('atommq.prune.prefix', `
  SELECT seq, edited_ms FROM atommq_entries e WHERE feed = $1 AND seq <= $2
    AND NOT ($3 AND EXISTS (SELECT 1 FROM atommq_groups g JOIN atommq_group_messages m ON m.grp = g.id AND m.seq = e.seq
      WHERE g.feed = $1 AND m.state <> 'dead'))
  ORDER BY seq LIMIT $4`);
const TOMBSTONES = statement('atommq.prune.tombstones', 'SELECT seq, edited_ms FROM atommq_entries WHERE feed = $1 AND deleted ORDER BY seq LIMIT $2');
const REMOVE = statement('atommq.prune.remove', 'DELETE FROM atommq_entries WHERE seq = ANY($1::bigint[])');
const RECORD = statement('atommq.prune.record', `
  INSERT INTO atommq_pruned AS p (feed, first_seq, through_seq, removed) VALUES ($1, $2, $3, $4) ON CONFLICT (feed) DO UPDATE
  SET first_seq = LEAST(p.first_seq, excluded.first_seq), through_seq = GREATEST(p.through_seq, excluded.through_seq),
    removed = p.removed + excluded.removed`);

/** Removes one batch of what the feed's retention no longer keeps; answers how many changes went. */
export async function prune(batch: Batch, feed: string, retention: Retention, now: number): Promise<number> {
  const seqs = [...new Set([...await byCountAndAge(batch, feed, retention, now), ...await oldTombstones(batch, feed, retention, now)])];
  if (seqs.length === 0) return 0;
  await batch.client.query(REMOVE([seqs]));
  await batch.client.query(RECORD([feed, Math.min(...seqs), Math.max(...seqs), seqs.length]));
  return seqs.length;
}

/** The seqs of `rows` before the first one `keep` keeps. */
function prefixUntil(rows: readonly Cut[], keep: (row: Cut) => boolean): number[] {
  const end = rows.findIndex(keep);
  return rows.slice(0, end < 0 ? rows.length : end).map((row) => row.seq);
}

async function byCountAndAge(batch: Batch, feed: string, retention: Retention, now: number): Promise<number[]> {
  const { maxEntries, maxAgeSeconds } = retention;
  if (maxEntries === undefined && maxAgeSeconds === undefined) return [];
  const db = batch.client;
  const countCut = maxEntries === undefined ? 0 : (await db.query<{ seq: number }>(COUNT_CUT([feed, maxEntries]))).rows[0]?.seq ?? 0;
  const ageCut = maxAgeSeconds === undefined ? -Infinity : now - maxAgeSeconds * 1000;
  const keep = retention.keepUnacked !== false;
  const lowest = keep ? (await db.query<{ position: number | null }>(LOWEST_POSITION([feed]))).rows[0]?.position : undefined;
  const { rows } = await db.query<Cut>(PREFIX([feed, lowest ?? Number.MAX_SAFE_INTEGER, keep, PRUNE_BATCH]));
  return prefixUntil(rows, (row) => row.seq > countCut && row.edited_ms >= ageCut);
}

async function oldTombstones(batch: Batch, feed: string, retention: Retention, now: number): Promise<number[]> {
  if (retention.tombstoneSeconds === undefined) return [];
  const cut = now - retention.tombstoneSeconds * 1000;
  const { rows } = await batch.client.query<Cut>(TOMBSTONES([feed, PRUNE_BATCH]));
  return prefixUntil(rows, (row) => row.edited_ms >= cut);
}
