import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AtomMQError } from '../../errors/index.js';
import type {
  AppendRequest, AppendResult, ChangeRequest, FeedBounds, Retention, Revision, Store, StoredEntry,
} from '../store.js';
import { SCHEMA } from './schema.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  readonly path: string;
  /**
   * `fsync` (default): a write is on disk before it is acknowledged.
   * `lose-on-power-failure`: SQLite's synchronous=NORMAL; survives a crash of AtomMQ, but an OS
   * crash or power cut may lose the most recent acknowledged writes.
   */
  readonly durability?: 'fsync' | 'lose-on-power-failure';
}

interface Row {
  seq: number;
  feed: string;
  key: string;
  atom_id: string;
  deleted: number;
  published: string;
  edited: string;
  xml: string;
  json: string;
}

interface QueuedWrite {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  changes: StoredEntry[];
}

const COLUMNS = 'seq, feed, key, atom_id, deleted, published, edited, xml, json';
const PRUNE_BATCH = 1000;

function toEntry(row: Row): StoredEntry {
  return {
    seq: row.seq, feed: row.feed, key: row.key, atomId: row.atom_id, deleted: row.deleted === 1,
    published: row.published, edited: row.edited, xml: row.xml, json: row.json,
  };
}

/**
 * The embedded store. Writes are queued and committed together once per turn of the event loop
 * (group commit): a transaction's fsync is paid once for every write that arrived while the
 * previous one was in flight, so durability does not cost throughput. Each write runs in its own
 * savepoint, so one failing write does not take the others with it.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private readonly listeners: Array<(changes: readonly StoredEntry[]) => void> = [];
  private closing: Promise<void> | undefined;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.durability === 'lose-on-power-failure' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.statements = {
      insert: db.prepare<[string, string, string, string | null, number, string, string, number, string, string], never>(
        'INSERT INTO entries (feed, key, atom_id, idempotency_key, deleted, published, edited, edited_ms, xml, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      member: db.prepare<[string, string], Row & { idempotency_key: string | null }>(
        `SELECT ${COLUMNS}, idempotency_key FROM entries WHERE feed = ? AND key = ?`),
      byIdempotencyKey: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM entries WHERE feed = ? AND idempotency_key = ?`),
      bySeq: db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM entries WHERE seq = ?`),
      deleteSeq: db.prepare<[number], never>('DELETE FROM entries WHERE seq = ?'),
      atomId: db.prepare<[string, string], { seq: number }>('SELECT seq FROM entries WHERE atom_id = ? AND feed = ?'),
      after: db.prepare<[string, number, number], Row>(`SELECT ${COLUMNS} FROM entries WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?`),
      before: db.prepare<[string, number, number], Row>(
        `SELECT ${COLUMNS} FROM entries WHERE feed = ? AND deleted = 0 AND seq < ? ORDER BY seq DESC LIMIT ?`),
      newest: db.prepare<[string], { seq: number; edited: string }>('SELECT seq, edited FROM entries WHERE feed = ? ORDER BY seq DESC LIMIT 1'),
      oldest: db.prepare<[string], { seq: number }>('SELECT seq FROM entries WHERE feed = ? ORDER BY seq LIMIT 1'),
      pruneCount: db.prepare<[string, string, number], never>(
        'DELETE FROM entries WHERE feed = ? AND seq <= (SELECT seq FROM entries WHERE feed = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)'),
      pruneAge: db.prepare<[string, number, number], never>(
        'DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE feed = ? ORDER BY seq LIMIT ?) AND edited_ms < ?'),
      ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    };
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return this.write((changes) => {
      if (request.idempotencyKey !== undefined) {
        const earlier = this.statements.byIdempotencyKey.get(request.feed, request.idempotencyKey);
        if (earlier) return { created: false, entry: toEntry(earlier) };
      }
      const key = request.preferredKey !== undefined && !this.statements.member.get(request.feed, request.preferredKey)
        ? request.preferredKey
        : request.fallbackKey;
      const entry = this.insert(request.feed, key, request.idempotencyKey ?? null, false, request.build(key));
      changes.push(entry);
      return { created: true, entry };
    });
  }

  replace(request: ChangeRequest): Promise<StoredEntry> {
    return this.change(request, false);
  }

  remove(request: ChangeRequest): Promise<StoredEntry> {
    return this.change(request, true);
  }

  prune(feed: string, retention: Retention, now: number): Promise<number> {
    return this.write(() => {
      let removed = 0;
      if (retention.maxEntries !== undefined) {
        removed += this.statements.pruneCount.run(feed, feed, retention.maxEntries).changes;
      }
      if (retention.maxAgeSeconds !== undefined) {
        const cutoff = now - retention.maxAgeSeconds * 1000;
        // In batches, oldest first: seq order is edit order, so the first young row ends the sweep.
        for (let n = PRUNE_BATCH; n === PRUNE_BATCH;) {
          n = this.statements.pruneAge.run(feed, PRUNE_BATCH, cutoff).changes;
          removed += n;
        }
      }
      return removed;
    });
  }

  async get(feed: string, key: string): Promise<StoredEntry | undefined> {
    const row = this.statements.member.get(feed, key);
    return row && toEntry(row);
  }

  async seqOfAtomId(feed: string, atomId: string): Promise<number | undefined> {
    return this.statements.atomId.get(atomId, feed)?.seq;
  }

  async readAfter(feed: string, seq: number, limit: number): Promise<StoredEntry[]> {
    return this.statements.after.all(feed, seq, limit).map(toEntry);
  }

  async readBefore(feed: string, seq: number | undefined, limit: number): Promise<StoredEntry[]> {
    return this.statements.before.all(feed, seq ?? Number.MAX_SAFE_INTEGER, limit).map(toEntry);
  }

  async bounds(feed: string): Promise<FeedBounds> {
    const newest = this.statements.newest.get(feed);
    return { newestSeq: newest?.seq ?? 0, oldestSeq: this.statements.oldest.get(feed)?.seq ?? 0, newestEdited: newest?.edited };
  }

  onCommit(listener: (changes: readonly StoredEntry[]) => void): void {
    this.listeners.push(listener);
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flush();
      this.db.close();
    })();
    return this.closing;
  }

  private change(request: ChangeRequest, deleting: boolean): Promise<StoredEntry> {
    return this.write((changes) => {
      const current = this.statements.member.get(request.feed, request.key);
      if (!current) throw new AtomMQError('ENTRY_NOT_FOUND', `feed "${request.feed}" has no entry "${request.key}"`);
      if (current.deleted) throw new AtomMQError('ENTRY_GONE', `entry "${request.key}" of feed "${request.feed}" was deleted at seq ${current.seq}`);
      if (request.expectedSeqs !== undefined && !request.expectedSeqs.includes(current.seq)) {
        throw new AtomMQError('PRECONDITION_FAILED', `If-Match does not name the current version of entry "${request.key}", which is "${current.seq}"`);
      }
      const revision = request.build(toEntry(current));
      this.statements.deleteSeq.run(current.seq);
      const entry = this.insert(request.feed, request.key, current.idempotency_key, deleting, revision);
      changes.push(entry);
      return entry;
    });
  }

  private insert(feed: string, key: string, idempotencyKey: string | null, deleted: boolean, r: Revision): StoredEntry {
    const { lastInsertRowid } = this.statements.insert.run(
      feed, key, r.atomId, idempotencyKey, deleted ? 1 : 0, r.published, r.edited, Date.parse(r.edited), r.xml, r.json);
    const seq = Number(lastInsertRowid);
    return { seq, feed, key, atomId: r.atomId, deleted, published: r.published, edited: r.edited, xml: r.xml, json: r.json };
  }

  private write<T>(run: (changes: StoredEntry[]) => T): Promise<T> {
    if (this.closing) return Promise.reject(new AtomMQError('SHUTTING_DOWN', 'the store is closing'));
    return new Promise<T>((resolve, reject) => {
      const changes: StoredEntry[] = [];
      this.queue.push({ run: () => run(changes), resolve: resolve as (value: unknown) => void, reject, changes });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued write in one transaction, then answers them and tells the listeners. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const savepoint = this.db.transaction((write: QueuedWrite) => write.run());
    try {
      this.db.transaction(() => {
        for (const write of batch) {
          try {
            outcomes.push({ ok: true, value: savepoint(write) });
          } catch (error) {
            write.changes.length = 0;
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch was stored.
      for (const write of batch) write.reject(error);
      return;
    }
    const committed: StoredEntry[] = [];
    batch.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) {
        committed.push(...write.changes);
        write.resolve(outcome.value);
      } else {
        write.reject(outcome?.error);
      }
    });
    if (committed.length) for (const listener of this.listeners) listener(committed);
  }
}
