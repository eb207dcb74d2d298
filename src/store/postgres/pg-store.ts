import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AtomMQError } from '../../errors/index.js';
import { CheckedGroups } from '../checked-groups.js';
import type { GroupOutcome } from '../group-ops.js';
import { checkQueueChange, type QueueStore } from '../queues.js';
import type {
  AppendRequest, AppendResult, ChangeRequest, CommitBatch, CommitListener, FeedBounds, Page, PageRequest, Retention, Store, StoredEntry,
} from '../store.js';
import type { WriteOp } from '../write-rules.js';
import { CommitFeed } from './pg-commit-feed.js';
import { createPool, createWriterPool, guarded, statement, storeError, withClient, type StoreLog } from './pg-connection.js';
import { groupReads } from './pg-group-reads.js';
import { Listener, type Announcement } from './pg-notify.js';
import { ENTRY_COLUMNS, readAfter, readBefore, readRange, toEntry, type EntryRow } from './pg-pages.js';
import { listQueues } from './pg-queues.js';
import { migrate } from './pg-schema.js';
import { PgWriter } from './pg-writer.js';

export interface PgStoreOptions {
  /** A libpq connection URI: `postgres://user@host:5432/db`, `?options=-c search_path=NAME` for a schema of its own. */
  readonly url: string;
  /** Connections for reads. @defaultValue 10 */
  readonly poolSize?: number | undefined;
  /** @defaultValue log nothing */
  readonly log?: StoreLog | undefined;
}

const MEMBER = statement('atommq.member', `SELECT ${ENTRY_COLUMNS} FROM atommq_entries WHERE feed = $1 AND key = $2`);
const ATOM_ID = statement('atommq.atom-id', 'SELECT seq FROM atommq_entries WHERE atom_id = $1 AND feed = $2 LIMIT 1');
const BOUNDS = statement('atommq.bounds', `
  SELECT n.seq AS newest, n.edited, (SELECT seq FROM atommq_entries WHERE feed = $1 ORDER BY seq LIMIT 1) AS oldest,
    (SELECT removed FROM atommq_pruned WHERE feed = $1) AS pruned
  FROM (SELECT 1) one LEFT JOIN (SELECT seq, edited FROM atommq_entries WHERE feed = $1 ORDER BY seq DESC LIMIT 1) n ON true`);
const HEAD = 'SELECT seq FROM atommq_head WHERE id = 1';
const GROUP_NAMES = 'SELECT feed, name FROM atommq_groups';
/** Rows a server reads back at once when it learns of other servers' commits. */
const RANGE_PAGE = { limit: 500, maxBytes: 8 * 1024 * 1024 };

/**
 * The PostgreSQL store: several AtomMQ servers on one database make one bus (DESIGN.md section 13).
 * Reads run on a pool; writes go through one writer connection in batches (pg-writer.ts), whose
 * commits are serialized across servers (pg-batch.ts); every server hears of the others' commits
 * by LISTEN/NOTIFY (pg-notify.ts) and hands them to its hub in seq order (pg-commit-feed.ts).
 */
export class PgStore implements Store {
  readonly groups: CheckedGroups;
  readonly queues: QueueStore;
  /** Names this store's notifications, so it does not read back what it committed itself. */
  private readonly instance = randomUUID();
  private readonly pool: pg.Pool;
  private readonly writes: pg.Pool;
  private readonly writer: PgWriter;
  private readonly feed: CommitFeed;
  private readonly listeners: CommitListener[] = [];
  private readonly batchListeners: Array<(batch: CommitBatch) => void> = [];
  private readonly log: StoreLog;
  private listener: Listener | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** Connects on first use (see `opened`), so that a store is made as simply as SQLite's. */
  constructor(private readonly options: PgStoreOptions) {
    const log = options.log ?? (() => {});
    this.log = log;
    this.pool = createPool(options.url, options.poolSize ?? 10, log);
    this.writes = createWriterPool(options.url, log);
    this.feed = new CommitFeed((after, upTo) => readRange(this.pool, after, upTo, RANGE_PAGE), (changes, elsewhere) => {
      for (const listener of this.listeners) listener(changes, elsewhere);
    }, log);
    this.writer = new PgWriter(this.writes, this.instance, () => this.listener!.channel, {
      committed: (batch) => this.feed.committed(batch.prev, batch.last, batch.changes),
      lost: () => void this.resync(),
      measured: (batch) => {
        for (const listener of this.batchListeners) listener(batch);
      },
    });
    const reads = groupReads(this.pool);
    this.groups = new CheckedGroups({
      commit: (op) => this.write<GroupOutcome>({ op: 'group', request: op }),
      status: (ref) => this.opened().then(() => reads.status(ref)),
      list: (feed) => this.opened().then(() => reads.list(feed)),
      readDead: (ref, after, limit, only) => this.opened().then(() => reads.readDead(ref, after, limit, only)),
      nextDue: (ref) => this.opened().then(() => reads.nextDue(ref)),
    });
    this.queues = {
      list: () => this.read(() => listQueues(this.pool)),
      update: async (change) => {
        checkQueueChange(change);
        return this.write({ op: 'queue', change });
      },
    };
  }

  /**
   * Connects, brings the schema up to date and starts listening, once; a failure (the database
   * cannot be reached or migrated) is STORE_UNAVAILABLE or the database's own error, and the next
   * call tries again. `ping` waits for it, so a server that pings its stores at start-up fails
   * there on a bad DSN.
   */
  opened(): Promise<void> {
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw storeError(error);
    });
    return this.opening;
  }

  private async open(): Promise<void> {
    const { head, schema } = await withClient(this.pool, async (client) => {
      const applied = await migrate(client);
      if (applied.length) this.log('info', `PostgreSQL schema migrated to version ${applied.at(-1)}`);
      return {
        head: (await client.query<{ seq: number }>(HEAD)).rows[0]!.seq,
        schema: (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema,
      };
    });
    this.feed.start(head);
    const listener = new Listener(this.options.url, `atommq:${schema}`, { message: (a) => this.hear(a), reconnected: () => void this.resync(true) }, this.log);
    await listener.start();
    this.listener = listener;
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return this.write({ op: 'append', request });
  }

  async appendBatch(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (requests.length === 0) return [];
    return this.write({ op: 'appendBatch', requests });
  }

  replace(request: ChangeRequest): Promise<StoredEntry> {
    return this.write({ op: 'replace', request });
  }

  remove(request: ChangeRequest): Promise<StoredEntry> {
    return this.write({ op: 'remove', request });
  }

  prune(feed: string, retention: Retention, now: number): Promise<number> {
    return this.write({ op: 'prune', feed, retention, now });
  }

  get(feed: string, key: string): Promise<StoredEntry | undefined> {
    return this.read(async () => {
      const row = (await this.pool.query<EntryRow>(MEMBER([feed, key]))).rows[0];
      return row && toEntry(row);
    });
  }

  seqOfAtomId(feed: string, atomId: string): Promise<number | undefined> {
    return this.read(async () => (await this.pool.query<{ seq: number }>(ATOM_ID([atomId, feed]))).rows[0]?.seq);
  }

  readAfter(feed: string, seq: number, page: PageRequest): Promise<Page> {
    return this.withBounds(feed, page, () => readAfter(this.pool, feed, seq, page));
  }

  readBefore(feed: string, seq: number | undefined, page: PageRequest): Promise<Page> {
    return this.withBounds(feed, page, () => readBefore(this.pool, feed, seq ?? Number.MAX_SAFE_INTEGER, page));
  }

  /**
   * A page, and its feed's bounds when asked for, read first (a statement of their own): bounds
   * older than the page can only make its ETag miss later, never validate a page newer than it.
   */
  private async withBounds(feed: string, page: PageRequest, readPage: () => Promise<Page>): Promise<Page> {
    const bounds = page.withBounds ? await this.bounds(feed) : undefined;
    const read = await this.read(readPage);
    return bounds ? { ...read, bounds } : read;
  }

  bounds(feed: string): Promise<FeedBounds> {
    return this.read(async () => {
      type Row = { newest: number | null; edited: string | null; oldest: number | null; pruned: number | null };
      const row = (await this.pool.query<Row>(BOUNDS([feed]))).rows[0];
      return { newestSeq: row?.newest ?? 0, oldestSeq: row?.oldest ?? 0, newestEdited: row?.edited ?? undefined, pruned: row?.pruned ?? 0 };
    });
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  onBatch(listener: (batch: CommitBatch) => void): void {
    this.batchListeners.push(listener);
  }

  async ping(): Promise<void> {
    await this.read(() => this.pool.query('SELECT 1'));
  }

  /** Commits what is queued, then closes every connection; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.writer.drain();
      this.feed.close();
      await this.opening?.catch(() => {});
      await this.listener?.close();
      await Promise.all([this.pool.end(), this.writes.end()]);
    })();
    return this.closing;
  }

  private async write<T>(op: WriteOp): Promise<T> {
    if (this.closing) throw new AtomMQError('SHUTTING_DOWN', 'the store is closing');
    await this.opened();
    return this.writer.write<T>(op);
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    await this.opened();
    return guarded(query);
  }

  private hear(announcement: Announcement): void {
    if (announcement.from === this.instance) return;
    if (announcement.kind === 'log') this.feed.announced(announcement.last);
    else for (const change of announcement.changes) this.groups.tell(change);
  }

  /**
   * Catches up after a lost connection: changes committed meanwhile are read back, and every held
   * claim is woken to look again (`groups`), as a notification of a group change may have been missed.
   */
  private async resync(groups = false): Promise<void> {
    try {
      this.feed.announced((await this.pool.query<{ seq: number }>(HEAD)).rows[0]!.seq);
      if (!groups) return;
      const now = Date.now();
      for (const row of (await this.pool.query<{ feed: string; name: string }>(GROUP_NAMES)).rows) {
        this.groups.tell({ feed: row.feed, group: row.name, nextDue: now });
      }
    } catch (error) {
      this.log('warn', `catching up after a lost PostgreSQL connection failed: ${(storeError(error) as Error).message}`);
    }
  }
}
