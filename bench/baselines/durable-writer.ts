/**
 * The durable floor's writer thread: one SQLite table, WAL, synchronous=FULL, and each batch of
 * bodies that arrives while a commit is in flight committed together, the way AtomMQ's own writer
 * commits (group commit, one fsync a batch). Nothing else: no indexes beyond the rowid, no
 * parsing, no rendering.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { logAppender, openLog } from './durable-log.js';

export interface Append {
  readonly id: number;
  readonly body: string;
}

export interface Committed {
  readonly ids: readonly number[];
  readonly seqs: readonly number[];
}

const port = parentPort;
if (!port) throw new Error('durable-writer.ts runs as a worker thread');
const db = openLog((workerData as { path: string }).path);
db.pragma('synchronous = FULL');
const append = logAppender(db);

let queue: Append[] = [];
port.on('message', (appends: readonly Append[]) => {
  if (queue.length === 0) {
    setImmediate(() => {
      const batch = queue;
      queue = [];
      port.postMessage({ ids: batch.map((a) => a.id), seqs: append(batch.map((a) => a.body)) } satisfies Committed);
    });
  }
  queue.push(...appends);
});
