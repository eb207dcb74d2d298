import type Database from 'better-sqlite3';
import { PRUNE_BATCH, type Retention } from '../store.js';

/** Keeps a row that a consumer group of the feed has leased or waits to redeliver (not dead). Needs :feed and :keep. */
const IN_FLIGHT = `(:keep = 1 AND EXISTS (SELECT 1 FROM groups g JOIN group_messages m ON m.grp = g.id AND m.seq = e.seq
  WHERE g.feed = :feed AND m.state <> 'dead'))`;

/**
 * One bounded round of retention for one feed, inside the writer's transaction. Each call reads at
 * most PRUNE_BATCH rows of each kind and deletes at most those, so it holds the writer briefly.
 *
 * Seq order is edit order within a feed, so what count and age remove is a prefix of the feed, and
 * the first young row ends it; old tombstones are a prefix of the tombstones. With keepUnacked,
 * live rows beyond the lowest group position are kept (no group has handed them out yet), and so
 * are rows a group holds in flight, which the scan steps over (they are few: the work in progress).
 */
export class Pruner {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      countCut: db.prepare<[string, number], { seq: number }>('SELECT seq FROM entries WHERE feed = ? ORDER BY seq DESC LIMIT 1 OFFSET ?'),
      lowestPosition: db.prepare<[string], { position: number | null }>('SELECT min(position) AS position FROM groups WHERE feed = ?'),
      prefix: db.prepare<Record<string, number | string>, { seq: number; edited_ms: number }>(
        `SELECT seq, edited_ms FROM entries e WHERE feed = :feed AND seq <= :bound AND NOT ${IN_FLIGHT} ORDER BY seq LIMIT :limit`),
      tombstones: db.prepare<[string, number], { seq: number; edited_ms: number }>(
        'SELECT seq, edited_ms FROM entries WHERE feed = ? AND deleted = 1 ORDER BY seq LIMIT ?'),
      remove: db.prepare<[number], never>('DELETE FROM entries WHERE seq = ?'),
      record: db.prepare<[string, number, number, number], never>(
        `INSERT INTO pruned (feed, first_seq, through_seq, removed) VALUES (?, ?, ?, ?) ON CONFLICT (feed) DO UPDATE
         SET first_seq = min(first_seq, excluded.first_seq), through_seq = max(through_seq, excluded.through_seq),
           removed = removed + excluded.removed`),
    };
  }

  /** Removes one batch; returns how many changes went. */
  prune(feed: string, retention: Retention, now: number): number {
    const seqs = [...new Set([...this.byCountAndAge(feed, retention, now), ...this.oldTombstones(feed, retention, now)])];
    for (const seq of seqs) this.s.remove.run(seq);
    if (seqs.length > 0) this.s.record.run(feed, Math.min(...seqs), Math.max(...seqs), seqs.length);
    return seqs.length;
  }

  private byCountAndAge(feed: string, retention: Retention, now: number): number[] {
    const { maxEntries, maxAgeSeconds } = retention;
    if (maxEntries === undefined && maxAgeSeconds === undefined) return [];
    const countCut = maxEntries === undefined ? 0 : this.s.countCut.get(feed, maxEntries)?.seq ?? 0;
    const ageCut = maxAgeSeconds === undefined ? -Infinity : now - maxAgeSeconds * 1000;
    const keep = retention.keepUnacked !== false;
    const bound = keep ? this.s.lowestPosition.get(feed)?.position ?? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
    const seqs: number[] = [];
    for (const row of this.s.prefix.iterate({ feed, bound, keep: keep ? 1 : 0, limit: PRUNE_BATCH })) {
      if (row.seq > countCut && row.edited_ms >= ageCut) break;
      seqs.push(row.seq);
    }
    return seqs;
  }

  private oldTombstones(feed: string, retention: Retention, now: number): number[] {
    if (retention.tombstoneSeconds === undefined) return [];
    const cut = now - retention.tombstoneSeconds * 1000;
    const seqs: number[] = [];
    for (const row of this.s.tombstones.iterate(feed, PRUNE_BATCH)) {
      if (row.edited_ms >= cut) break;
      seqs.push(row.seq);
    }
    return seqs;
  }
}
