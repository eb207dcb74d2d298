import type { StoredEntry } from '../store.js';
import type { StoreLog } from './pg-connection.js';

/** Reads every feed's changes with seq in (after, upTo], oldest first, a bounded page at a time. */
export type ReadRange = (after: number, upTo: number) => Promise<{ entries: StoredEntry[]; more: boolean }>;

const RETRY_MS = 1000;

/**
 * Hands the store's listeners (the hub) every committed change exactly once, in seq order, whichever
 * server committed it: live streams write what they are handed and skip seqs they have passed, so a
 * change handed over after a later one would be lost to them.
 *
 * `distributed` is the seq up to which everything was handed over. This server's own batch is
 * handed over from memory when it follows straight on from there; otherwise, and for other
 * servers' commits, what lies between is read back from the database, in order, up to the seq the
 * batch or the notification names. Batches commit in seq order (pg-batch.ts), so everything up to a
 * committed seq is committed: a read up to it misses nothing but what was deleted since.
 */
export class CommitFeed {
  private distributed = 0;
  private target = 0;
  private pumping = false;
  private retry: NodeJS.Timeout | undefined;
  /** Callers waiting until a seq is handed over (or the reading failed). */
  private waiters: Array<{ readonly seq: number; readonly done: () => void }> = [];
  /** Seqs this server committed that are to be handed over with what is read back. */
  private readonly own = new Set<number>();

  /** `emit`: changes in seq order, all committed by this server or all by others (`elsewhere`). */
  constructor(private readonly read: ReadRange, private readonly emit: (changes: readonly StoredEntry[], elsewhere: boolean) => void,
    private readonly log: StoreLog) {}

  /** Starts after `head`: what was committed before the store opened is not news. */
  start(head: number): void {
    this.distributed = head;
    this.target = head;
  }

  /**
   * This server committed (prev, last]. Resolves once its changes are handed over, or reading what
   * came before them failed (they are committed: the caller is answered, and they follow later).
   */
  committed(prev: number, last: number, changes: readonly StoredEntry[]): Promise<void> {
    // A notification can name a seq past this batch before the batch's own answer is back: the
    // read-back then handed these changes over as another server's, so this server's round-robin
    // consumers, the only ones that may take them, never had them. Handed over again as this
    // server's they reach those; watchers only wake, and streams skip seqs they have passed.
    const early = changes.filter((c) => c.seq <= this.distributed);
    if (early.length) this.emit(early, false);
    if (last <= this.distributed) return Promise.resolve();
    if (prev === this.distributed && !this.pumping) {
      this.distributed = last;
      this.target = Math.max(this.target, last);
      if (changes.length) this.emit(changes, false);
      return Promise.resolve();
    }
    for (const change of changes) if (change.seq > this.distributed) this.own.add(change.seq);
    return new Promise((done) => {
      this.waiters.push({ seq: last, done });
      this.announced(last);
    });
  }

  /** Another server committed up to `last` (or this one did, and the answer was lost). */
  announced(last: number): void {
    this.target = Math.max(this.target, last);
    void this.pump();
  }

  /** Stops retrying; waiting callers are answered. */
  close(): void {
    clearTimeout(this.retry);
    this.settle(Infinity);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    clearTimeout(this.retry);
    try {
      while (this.distributed < this.target) {
        const upTo = this.target;
        const { entries, more } = await this.read(this.distributed, upTo);
        this.distributed = more ? entries.at(-1)!.seq : upTo;
        this.emitRead(entries);
        this.settle(this.distributed);
      }
    } catch (error) {
      this.log('warn', `reading changes committed by other servers failed (${(error as Error).message}); trying again in ${RETRY_MS} ms`);
      this.settle(Infinity);
      this.retry = setTimeout(() => void this.pump(), RETRY_MS);
      this.retry.unref();
    } finally {
      this.pumping = false;
    }
  }

  /** Hands over what was read back, in runs of this server's own changes and others'. */
  private emitRead(entries: readonly StoredEntry[]): void {
    let run: StoredEntry[] = [];
    let mine = false;
    for (const entry of entries) {
      const own = this.own.delete(entry.seq);
      if (run.length && own !== mine) {
        this.emit(run, !mine);
        run = [];
      }
      run.push(entry);
      mine = own;
    }
    if (run.length) this.emit(run, !mine);
    // Own changes deleted before they were read back are not coming.
    for (const seq of this.own) if (seq <= this.distributed) this.own.delete(seq);
  }

  private settle(upTo: number): void {
    const [done, waiting] = [this.waiters.filter((w) => w.seq <= upTo), this.waiters.filter((w) => w.seq > upTo)];
    this.waiters = waiting;
    for (const w of done) w.done();
  }
}
