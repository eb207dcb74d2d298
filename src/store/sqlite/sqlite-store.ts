import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AtomMQError } from '../../errors/index.js';
import { checkQueueChange, type QueueChange, type QueueRecord, type QueueStore } from '../queues.js';
import type {
  AppendRequest, AppendResult, ChangeRequest, CommitBatch, CommitListener, FeedBounds, Page, PageRequest, Retention, Store, StoredEntry,
} from '../store.js';
import { CheckedGroups } from '../checked-groups.js';
import { FeedReads } from './feed-reads.js';
import { GroupReads } from './group-reads.js';
import { QueueReads } from './queue-table.js';
import { COLUMNS, toEntry, type Row } from './schema.js';
import type { FromWriter, QueuedWrite, ToWriter, WriterData } from './writer-thread.js';
import { openDatabase, type AppendOutcome, type Durability, type Outcome, type WriteOp, type WriteResult } from './writer.js';

export interface SqliteStoreOptions {
  /** The database file; created, with its directory, if missing. */
  readonly path: string;
  /**
   * `fsync` (default): a write is on disk before it is acknowledged.
   * `lose-on-power-failure`: SQLite's synchronous=NORMAL; survives a crash of AtomMQ, but an OS
   * crash or power cut may lose the most recent acknowledged writes.
   */
  readonly durability?: Durability;
}

/** A committed write: what the writer reported, and the changes it made, in seq order. */
interface Committed {
  readonly result: WriteResult;
  readonly changes: readonly StoredEntry[];
}

interface Pending {
  readonly op: WriteOp;
  resolve(committed: Committed): void;
  reject(error: unknown): void;
}

/**
 * The embedded store. Reads run here, on a connection of their own (WAL lets them proceed while a
 * commit is in flight); writes go to a writer thread that commits them in batches (group commit),
 * so neither the commits nor their fsyncs hold up the thread that serves HTTP.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly writer: Worker;
  private readonly s;
  private readonly feedReads: FeedReads;
  readonly groups: CheckedGroups;
  readonly queues: QueueStore;
  private readonly pending = new Map<number, Pending>();
  /**
   * Writes of this turn of the event loop, sent to the writer together at its end: one wake-up of
   * the writer thread a turn, and commits as large as the load makes them. (Sending every 8 writes
   * instead, so that the writer could start committing while this thread parsed the rest, made
   * commits of 9 writes at 32 publishers where the turn holds some 28: on one CPU it cost 15 µs of
   * writer CPU per POST and 5-10% of POSTs/s, and on two CPUs it gained nothing measurable.)
   */
  private outbox: QueuedWrite[] = [];
  private nextId = 1;
  private readonly listeners: CommitListener[] = [];
  private readonly batchListeners: Array<(batch: CommitBatch) => void> = [];
  private closing: Promise<void> | undefined;
  private broken: Error | undefined;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    const durability = options.durability ?? 'fsync';
    // Opened before the writer, so the schema exists by the time either connection uses it.
    this.db = openDatabase(options.path, durability);
    const db = this.db;
    this.s = {
      member: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM entries WHERE feed = ? AND key = ?`),
      atomId: db.prepare<[string, string], { seq: number }>('SELECT seq FROM entries WHERE atom_id = ? AND feed = ?'),
      ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    };
    this.feedReads = new FeedReads(db);
    const reads = new GroupReads(db);
    this.groups = new CheckedGroups({
      commit: async (request) => {
        const { result } = await this.write({ op: 'group', request });
        if (result.op !== 'group') throw new Error(`unexpected writer result ${result.op}`);
        return result.outcome;
      },
      status: async (ref) => reads.status(ref),
      list: async (feed) => reads.list(feed),
      readDead: async (ref, after, limit, only) => reads.readDead(ref, after, limit, only),
      nextDue: async (ref) => reads.nextDue(reads.existing(ref), Date.now()),
    });
    const queueReads = new QueueReads(db);
    this.queues = {
      list: async () => queueReads.list(),
      update: async (change: QueueChange): Promise<QueueRecord> => {
        checkQueueChange(change);
        const { result } = await this.write({ op: 'queue', change });
        if (result.op !== 'queue') throw new Error(`unexpected writer result ${result.op}`);
        return result.record;
      },
    };
    this.writer = new Worker(new URL('./writer-thread.js', import.meta.url), {
      workerData: { path: options.path, durability } satisfies WriterData,
    });
    this.writer.on('message', (message: FromWriter) => this.receive(message));
    this.writer.on('error', (error) => this.fail(error));
    this.writer.on('exit', (code) => this.fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  async append(request: AppendRequest): Promise<AppendResult> {
    const { result, changes } = await this.write({ op: 'append', request });
    if (result.op === 'duplicate') return { created: false, entry: toEntry(result.row) };
    if (!changes[0]) throw new Error(`unexpected writer result ${result.op}`);
    return { created: true, entry: changes[0] };
  }

  async appendBatch(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (requests.length === 0) return [];
    const { result, changes } = await this.write({ op: 'appendBatch', requests });
    if (result.op !== 'appendBatch') throw new Error(`unexpected writer result ${result.op}`);
    let next = 0;
    return result.results.map((r) => (r.op === 'duplicate'
      ? { created: false, entry: toEntry(r.row) }
      : { created: true, entry: changes[next++] as StoredEntry }));
  }

  replace(request: ChangeRequest): Promise<StoredEntry> {
    return this.change(request, 'replace');
  }

  remove(request: ChangeRequest): Promise<StoredEntry> {
    return this.change(request, 'remove');
  }

  async prune(feed: string, retention: Retention, now: number): Promise<number> {
    const { result } = await this.write({ op: 'prune', feed, retention, now });
    return result.op === 'prune' ? result.removed : 0;
  }

  async get(feed: string, key: string): Promise<StoredEntry | undefined> {
    const row = this.s.member.get(feed, key);
    return row && toEntry(row);
  }

  async seqOfAtomId(feed: string, atomId: string): Promise<number | undefined> {
    return this.s.atomId.get(atomId, feed)?.seq;
  }

  async readAfter(feed: string, seq: number, page: PageRequest): Promise<Page> {
    return this.feedReads.readAfter(feed, seq, page);
  }

  async readBefore(feed: string, seq: number | undefined, page: PageRequest): Promise<Page> {
    return this.feedReads.readBefore(feed, seq ?? Number.MAX_SAFE_INTEGER, page);
  }

  async bounds(feed: string): Promise<FeedBounds> {
    return this.feedReads.bounds(feed);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  onBatch(listener: (batch: CommitBatch) => void): void {
    this.batchListeners.push(listener);
  }

  async ping(): Promise<void> {
    if (this.broken) throw this.broken;
    this.s.ping.get();
  }

  /** Lets the writer commit what it was sent, then closes both connections. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.db.close();
        resolve();
      };
      if (this.broken) {
        done();
        return;
      }
      this.writer.once('exit', done);
      this.send();
      this.writer.postMessage({ type: 'close' } satisfies ToWriter);
    });
    return this.closing;
  }

  private async change(request: ChangeRequest, op: 'replace' | 'remove'): Promise<StoredEntry> {
    const { result, changes } = await this.write({ op, request });
    if (!changes[0]) throw new Error(`unexpected writer result ${result.op}`);
    return changes[0];
  }

  private write(op: WriteOp): Promise<Committed> {
    if (this.closing) return Promise.reject(new AtomMQError('SHUTTING_DOWN', 'the store is closing'));
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.send());
      this.outbox.push({ id, op });
    });
  }

  private send(): void {
    const writes = this.outbox;
    this.outbox = [];
    if (writes.length) this.writer.postMessage({ type: 'write', writes } satisfies ToWriter);
  }

  /** Answers a committed batch, then tells the listeners of its changes in seq order. */
  private receive(message: FromWriter): void {
    if (message.type === 'closed') {
      // The writer answered everything before closing; the worker's exit follows.
      return;
    }
    const answered = message.ids.map((id) => {
      const pending = this.pending.get(id);
      this.pending.delete(id);
      return pending;
    });
    if (message.type === 'failed') {
      for (const p of answered) p?.reject(new Error(`commit failed: ${message.message}`));
      return;
    }
    for (const listener of this.batchListeners) listener({ writes: message.ids.length, seconds: message.seconds });
    // Promise callbacks run after this method returns, so listeners hear of the batch first.
    const changes: StoredEntry[] = [];
    message.outcomes.forEach((outcome: Outcome, i) => {
      const p = answered[i];
      if (!p) return;
      if (!outcome.ok) {
        p.reject(new AtomMQError(outcome.error.code, outcome.error.message));
        return;
      }
      const made = changesOf(p.op, outcome.result);
      changes.push(...made);
      p.resolve({ result: outcome.result, changes: made });
    });
    if (changes.length) for (const listener of this.listeners) listener(changes);
  }

  private fail(error: Error): void {
    if (this.closing && this.pending.size === 0) return;
    this.broken ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** The entry an append stored, unless it found the one it retries. */
function appended(request: AppendRequest, result: AppendOutcome): StoredEntry[] {
  if (result.op !== 'append') return [];
  const revision = request.candidates.find((c) => c.key === result.key)?.revision;
  return revision ? [{ seq: result.seq, feed: request.feed, key: result.key, deleted: false, ...revision }] : [];
}

/** The changes a committed write made, as listeners (the hub) receive them. */
function changesOf(op: WriteOp, result: WriteResult): StoredEntry[] {
  if (op.op === 'append' && (result.op === 'append' || result.op === 'duplicate')) return appended(op.request, result);
  if (op.op === 'appendBatch' && result.op === 'appendBatch') {
    return result.results.flatMap((r, i) => appended(op.requests[i] as AppendRequest, r));
  }
  if ((op.op === 'replace' || op.op === 'remove') && (result.op === 'replace' || result.op === 'remove')) {
    return [{ seq: result.seq, feed: op.request.feed, key: op.request.key, deleted: op.op === 'remove', ...op.request.revision }];
  }
  return [];
}
