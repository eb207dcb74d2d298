import type pg from 'pg';
import { AtomMQError } from '../../errors/index.js';
import type { GroupOutcome } from '../group-ops.js';
import type { AppendRequest, CommitBatch } from '../store.js';
import type { WriteOp } from '../write-rules.js';
import { Batch, type CommittedBatch } from './pg-batch.js';
import { appendAlone, appendAll, appendRun, independent, type Outcome } from './pg-appends.js';
import { isUnavailable, storeError, withClient } from './pg-connection.js';
import { change } from './pg-entry-writes.js';
import { applyGroupOp } from './pg-group-writes.js';
import { announcements, logPrefix } from './pg-notify.js';
import { prune } from './pg-pruner.js';
import { updateQueue } from './pg-queues.js';

interface Queued {
  readonly op: WriteOp;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Writes per transaction at most, so one batch never holds the lock for long whatever the load. */
const MAX_BATCH = 512;
const UNIQUE_VIOLATION = '23505';

export interface WriterHooks {
  /** After the commit, before the writes are answered: hands the changes to the listeners. */
  committed(batch: CommittedBatch): Promise<void>;
  /** A batch failed on a lost connection: its commit may or may not have happened. */
  lost(): void;
  /** After every commit: how many writes it held and how long it took (the metrics' histograms). */
  measured(batch: CommitBatch): void;
}

/**
 * Group commit on PostgreSQL: the writes that arrive while a batch is in flight go into the next
 * one, one transaction on one connection, answered once it is committed. A write refused for its
 * own reasons (a conflict, a stale If-Match) fails alone; anything else fails the batch, and a
 * batch that loses its connection fails with STORE_UNAVAILABLE, so clients retry.
 */
export class PgWriter {
  private queue: Queued[] = [];
  private running: Promise<void> | undefined;

  /** `from` names this store in its notifications; `channel` is where they go, known once the store is open. */
  constructor(private readonly pool: pg.Pool, private readonly from: string, private readonly channel: () => string,
    private readonly hooks: WriterHooks) {}

  write<T>(op: WriteOp): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      // The next turn of the event loop, so that the writes of this one go together.
      this.running ??= new Promise<void>((started) => setImmediate(started)).then(() => this.run());
    });
  }

  /** Resolves once every write sent so far is answered. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      await this.commit(batch);
    }
    this.running = undefined;
  }

  private async commit(queued: readonly Queued[]): Promise<void> {
    const appends = queued.every((q) => q.op.op === 'append') ? queued.map((q) => (q.op as Append).request) : undefined;
    try {
      const started = performance.now();
      const outcomes = (appends && independent(appends) && await this.alone(appends)) || await this.batch(queued);
      this.hooks.measured({ writes: queued.length, seconds: (performance.now() - started) / 1000 });
      outcomes.forEach((outcome, i) => (outcome.ok ? queued[i]!.resolve(outcome.value) : queued[i]!.reject(outcome.error)));
    } catch (error) {
      if (isUnavailable(error)) this.hooks.lost();
      for (const q of queued) q.reject(storeError(error));
    }
  }

  /**
   * Appends alone, in one statement (pg-appends.ts). Undefined when another server stored one of
   * their names since they were looked up: the batch, which holds the lock as it looks, decides.
   */
  private async alone(appends: readonly AppendRequest[]): Promise<Array<Outcome<unknown>> | undefined> {
    try {
      const done = await withClient(this.pool, (client) => appendAlone(client, appends, this.channel(), logPrefix(this.from)));
      await this.hooks.committed({ prev: done.prev, last: done.last, changes: done.changes, groupChanges: [] });
      return done.outcomes;
    } catch (error) {
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return undefined;
      throw error;
    }
  }

  /** Any writes, in one transaction under the log's lock (pg-batch.ts). */
  private batch(queued: readonly Queued[]): Promise<Array<Outcome<unknown>>> {
    return withClient(this.pool, async (client, discard) => {
      try {
        const batch = await Batch.begin(client);
        const results = await apply(batch, queued.map((q) => q.op));
        const committed: CommittedBatch = { prev: batch.prev, last: batch.last, changes: batch.changes, groupChanges: groupChanges(queued, results) };
        await batch.commit(this.channel(), announcements(this.from, committed));
        await this.hooks.committed(committed);
        return results;
      } catch (error) {
        // A connection that is gone rolled back by itself, or committed: nobody can tell.
        if (!isUnavailable(error)) await client.query('ROLLBACK').catch(discard);
        throw error;
      }
    });
  }
}

type Append = Extract<WriteOp, { op: 'append' }>;

/** Applies the writes in order: a run of appends together, any other write on its own. */
async function apply(batch: Batch, ops: readonly WriteOp[]): Promise<Array<Outcome<unknown>>> {
  const outcomes: Array<Outcome<unknown>> = [];
  for (let i = 0; i < ops.length;) {
    const op = ops[i]!;
    if (op.op !== 'append') {
      outcomes.push(await own(applyOne(batch, op)));
      i++;
      continue;
    }
    let end = i + 1;
    while (end < ops.length && ops[end]!.op === 'append') end++;
    outcomes.push(...await appendRun(batch, ops.slice(i, end).map((o) => (o as Append).request)));
    i = end;
  }
  return outcomes;
}

function applyOne(batch: Batch, op: Exclude<WriteOp, Append>): Promise<unknown> {
  switch (op.op) {
    case 'replace':
    case 'remove': return change(batch, op.request, op.op === 'remove');
    case 'appendBatch': return appendAll(batch, op.requests);
    case 'prune': return prune(batch, op.feed, op.retention, op.now);
    case 'group': return applyGroupOp(batch.client, op.request, Date.now());
    case 'queue': return updateQueue(batch.client, op.change);
  }
}

/** A write refused for its own reasons is that write's outcome; anything else fails the batch. */
async function own<T>(write: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await write };
  } catch (error) {
    if (error instanceof AtomMQError) return { ok: false, error };
    throw error;
  }
}

/** The group changes of the batch's committed group writes, each with the group's next due time. */
function groupChanges(queued: readonly Queued[], outcomes: ReadonlyArray<Outcome<unknown>>): CommittedBatch['groupChanges'] {
  return queued.flatMap(({ op }, i) => {
    const outcome = outcomes[i];
    if (op.op !== 'group' || !outcome?.ok) return [];
    return [{ feed: op.request.request.feed, group: op.request.request.group, nextDue: (outcome.value as GroupOutcome).nextDue }];
  });
}
