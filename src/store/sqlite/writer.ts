import Database from 'better-sqlite3';
import { AtomMQError } from '../../errors/index.js';
import type { QueueRecord } from '../queues.js';
import type { AppendRequest, ChangeRequest, Revision } from '../store.js';
import { checkChange, chosenCandidate, retried, type WriteOp } from '../write-rules.js';
import { applyGroupSchema } from './group-schema.js';
import type { GroupOutcome } from '../group-ops.js';
import { GroupWriter } from './group-writer.js';
import { Pruner } from './pruner.js';
import { applyQueueSchema, QueueWriter } from './queue-table.js';
import { applySchema, COLUMNS, type Row } from './schema.js';

export type { WriteOp };

/** What one append did: stored a new entry, or found the one it retries. */
export type AppendOutcome =
  | { readonly op: 'append'; readonly seq: number; readonly key: string }
  | { readonly op: 'duplicate'; readonly row: Row };

/** What a write did. Only what the caller does not already know comes back (seqs, the chosen key). */
export type WriteResult =
  | AppendOutcome
  | { readonly op: 'appendBatch'; readonly results: readonly AppendOutcome[] }
  | { readonly op: 'replace' | 'remove'; readonly seq: number }
  | { readonly op: 'prune'; readonly removed: number }
  | { readonly op: 'group'; readonly outcome: GroupOutcome }
  | { readonly op: 'queue'; readonly record: QueueRecord };

export type Outcome =
  | { readonly ok: true; readonly result: WriteResult }
  | { readonly ok: false; readonly error: { readonly code: AtomMQError['code']; readonly message: string } };

export type Durability = 'fsync' | 'lose-on-power-failure';

/** How a row was first posted: what recognises a retry of that POST. A PUT or DELETE keeps it. */
interface Origin {
  idempotency_key: string | null;
  client_id: string | null;
  fingerprint: string | null;
}

const CACHE_KIB = 64 * 1024;

/** Opens a connection with the settings every AtomMQ connection shares, and the schema in place. */
export function openDatabase(path: string, durability: Durability): Database.Database {
  const db = new Database(path);
  try {
    configure(db, durability);
  } catch (error) {
    // A file that is not a database: close it rather than leak the handle.
    db.close();
    throw error;
  }
  return db;
}

function configure(db: Database.Database, durability: Durability): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  // A page read touches a few dozen pages; a larger page cache keeps the index's inner pages and
  // recent entries in memory. (Mapping the file with mmap_size measured no better here. 16 KiB
  // pages made far-back page reads cheaper, but each commit then logs 4x the bytes before its
  // fsync and POSTs at one connection lost 18%: SQLite's 4 KiB default stays.)
  db.pragma(`cache_size = -${CACHE_KIB}`);
  applySchema(db);
  applyGroupSchema(db);
  applyQueueSchema(db);
}

/**
 * The write side of the SQLite store: applies a batch of writes in one transaction (group commit:
 * one fsync for the batch). Each write checks everything that can refuse it before it changes
 * anything, so a refused write leaves the batch intact; any other failure rolls the batch back.
 */
export class SqliteWriter {
  private readonly s;
  private readonly groups: GroupWriter;
  private readonly pruner: Pruner;
  private readonly queues: QueueWriter;
  private readonly appendAll: (requests: readonly AppendRequest[]) => AppendOutcome[];
  private readonly commitBatch: (ops: readonly WriteOp[]) => Outcome[];

  constructor(readonly db: Database.Database) {
    this.s = {
      insert: db.prepare<[string, string, string, string | null, string | null, string | null, number, string, string, number, string, string], never>(
        `INSERT INTO entries (feed, key, atom_id, idempotency_key, client_id, fingerprint, deleted, published, edited, edited_ms, xml, json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      member: db.prepare<[string, string], Origin & { seq: number; deleted: number }>(
        'SELECT seq, deleted, idempotency_key, client_id, fingerprint FROM entries WHERE feed = ? AND key = ?'),
      byIdempotencyKey: db.prepare<[string, string], Row & Origin>(`SELECT ${COLUMNS}, fingerprint FROM entries WHERE feed = ? AND idempotency_key = ?`),
      byClientId: db.prepare<[string, string], Row & Origin>(`SELECT ${COLUMNS}, fingerprint FROM entries WHERE feed = ? AND client_id = ?`),
      deleteSeq: db.prepare<[number], never>('DELETE FROM entries WHERE seq = ?'),
    };
    this.groups = new GroupWriter(db);
    this.pruner = new Pruner(db);
    this.queues = new QueueWriter(db);
    // Nested in the batch's transaction, so a savepoint: a refused message takes the whole batch
    // back with it, and leaves the other writes of the commit intact.
    this.appendAll = db.transaction((requests: readonly AppendRequest[]) => requests.map((request, i) => {
      try {
        return this.append(request);
      } catch (error) {
        if (!(error instanceof AtomMQError)) throw error;
        throw new AtomMQError(error.code, `message ${i + 1} of ${requests.length}: ${error.message}`);
      }
    }));
    this.commitBatch = db.transaction((ops: readonly WriteOp[]) => ops.map((op) => {
      try {
        return { ok: true, result: this.apply(op) } as const;
      } catch (error) {
        if (!(error instanceof AtomMQError)) throw error;
        return { ok: false, error: { code: error.code, message: error.message } } as const;
      }
    }));
  }

  /** Commits a batch; throws (nothing committed) if the transaction itself fails. */
  commit(ops: readonly WriteOp[]): Outcome[] {
    return this.commitBatch(ops);
  }

  private apply(op: WriteOp): WriteResult {
    switch (op.op) {
      case 'append': return this.append(op.request);
      case 'appendBatch': return { op: 'appendBatch', results: this.appendAll(op.requests) };
      case 'replace':
      case 'remove': return { op: op.op, seq: this.change(op.request, op.op === 'remove') };
      case 'prune': return { op: 'prune', removed: this.pruner.prune(op.feed, op.retention, op.now) };
      case 'group': return { op: 'group', outcome: this.groups.apply(op.request) };
      case 'queue': return { op: 'queue', record: this.queues.update(op.change) };
    }
  }

  private append(request: AppendRequest): AppendOutcome {
    const { feed, retry } = request;
    const earlier = retried(request, (name, value) => (name === 'idempotencyKey' ? this.s.byIdempotencyKey : this.s.byClientId).get(feed, value));
    if (earlier) return { op: 'duplicate', row: earlier };
    const chosen = chosenCandidate(request, (key) => this.s.member.get(feed, key) !== undefined);
    const origin: Origin = { idempotency_key: retry?.idempotencyKey ?? null, client_id: retry?.clientId ?? null, fingerprint: retry?.fingerprint ?? null };
    const seq = this.insert(feed, chosen.key, origin, false, chosen.revision);
    this.groups.schedule(seq, request.deliverAfter, request.expires);
    return { op: 'append', seq, key: chosen.key };
  }

  private change(request: ChangeRequest, deleting: boolean): number {
    const current = this.s.member.get(request.feed, request.key);
    this.s.deleteSeq.run(checkChange(request, current));
    const seq = this.insert(request.feed, request.key, current!, deleting, request.revision);
    if (!deleting) this.groups.schedule(seq, request.deliverAfter, request.expires);
    return seq;
  }

  private insert(feed: string, key: string, origin: Origin, deleted: boolean, r: Revision): number {
    const { lastInsertRowid } = this.s.insert.run(feed, key, r.atomId, origin.idempotency_key, origin.client_id, origin.fingerprint,
      deleted ? 1 : 0, r.published, r.edited, Date.parse(r.edited), r.xml, r.json);
    return Number(lastInsertRowid);
  }
}
