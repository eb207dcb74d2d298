import type pg from 'pg';
import type { GroupChange } from '../groups.js';
import type { StoredEntry } from '../store.js';

/** What a committed batch did: the seqs it took, (prev, last], its changes in seq order, and its group changes. */
export interface CommittedBatch {
  readonly prev: number;
  readonly last: number;
  readonly changes: readonly StoredEntry[];
  readonly groupChanges: readonly GroupChange[];
}

/**
 * One write batch: a transaction that holds the row lock on `atommq_head` from its first statement
 * to its commit, and hands out the seqs after the newest committed one.
 *
 * Why a lock, and not a sequence: with a sequence, a transaction that took seq 7 may commit after
 * one that took seq 8, and a reader that saw 8 would move its cursor past 7 for good (the trap
 * DESIGN.md section 13 names). Reading only below the oldest open transaction's horizon avoids it
 * too, but every read would pay for it, and readers would wait on the slowest writer anyway. Here
 * the batches of every server on the database commit one after the other, each seq above all
 * committed before it, so whatever a reader sees is a prefix of the log. Group commit keeps that
 * cheap: the writes that arrive while a batch holds the lock go in the next batch together.
 */
export class Batch {
  private next: number;
  readonly changes: StoredEntry[] = [];

  private constructor(readonly client: pg.ClientBase, readonly prev: number) {
    this.next = prev + 1;
  }

  /** BEGIN and the lock in one round trip; waits while another server's batch holds it. */
  static async begin(client: pg.ClientBase): Promise<Batch> {
    const results = await client.query('BEGIN; SELECT seq FROM atommq_head WHERE id = 1 FOR UPDATE') as unknown as pg.QueryResult[];
    const seq = (results[1]?.rows[0] as { seq: number } | undefined)?.seq;
    if (seq === undefined) throw new Error('atommq_head has no row: the schema is damaged');
    return new Batch(client, seq);
  }

  /** The next seq. Only what is committed counts: a batch that rolls back hands its seqs out again. */
  takeSeq(): number {
    return this.next++;
  }

  /** Where the batch is, so that a write refused after taking seqs can give them back (`rewind`). */
  mark(): { readonly next: number; readonly changes: number } {
    return { next: this.next, changes: this.changes.length };
  }

  rewind(mark: { readonly next: number; readonly changes: number }): void {
    this.next = mark.next;
    this.changes.length = mark.changes;
  }

  get last(): number {
    return this.next - 1;
  }

  /**
   * Records the new head, sends the notifications (PostgreSQL delivers them only if the
   * transaction commits) and commits, in one round trip.
   */
  async commit(channel: string, payloads: readonly string[]): Promise<void> {
    const { client } = this;
    const statements = [
      ...(this.last > this.prev ? [`UPDATE atommq_head SET seq = ${this.last} WHERE id = 1`] : []),
      ...payloads.map((p) => `SELECT pg_notify(${client.escapeLiteral(channel)}, ${client.escapeLiteral(p)})`),
      'COMMIT',
    ];
    await client.query(statements.join(';\n'));
  }
}
