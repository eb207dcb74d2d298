/**
 * The writer thread: owns the SQLite connection that writes, so that commits and their fsyncs never
 * block the thread serving HTTP. Writes that arrive while a commit is in flight queue up in the
 * message port and go into the next commit together (group commit).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, SqliteWriter, type Durability, type WriteOp } from './writer.js';

export interface QueuedWrite {
  readonly id: number;
  readonly op: WriteOp;
}

export type ToWriter =
  | { readonly type: 'write'; readonly writes: readonly QueuedWrite[] }
  | { readonly type: 'close' };

export type FromWriter =
  | { readonly type: 'committed'; readonly ids: readonly number[]; readonly outcomes: ReturnType<SqliteWriter['commit']>; readonly seconds: number }
  | { readonly type: 'failed'; readonly ids: readonly number[]; readonly message: string }
  | { readonly type: 'closed' };

export interface WriterData {
  readonly path: string;
  readonly durability: Durability;
}

const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs as a worker thread');
const { path, durability } = workerData as WriterData;
const writer = new SqliteWriter(openDatabase(path, durability));
let queue: QueuedWrite[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const ids = batch.map((w) => w.id);
  try {
    const started = performance.now();
    const outcomes = writer.commit(batch.map((w) => w.op));
    port!.postMessage({ type: 'committed', ids, outcomes, seconds: (performance.now() - started) / 1000 } satisfies FromWriter);
  } catch (error) {
    // The transaction failed as a whole (disk full, I/O error): nothing in the batch was stored.
    port!.postMessage({ type: 'failed', ids, message: (error as Error).message } satisfies FromWriter);
  }
}

port.on('message', (message: ToWriter) => {
  if (message.type === 'close') {
    flush();
    writer.db.close();
    port.postMessage({ type: 'closed' } satisfies FromWriter);
    port.close();
    return;
  }
  queue.push(...message.writes);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
