/**
 * What the soak's clients saw, message by message: which seqs each publisher had acknowledged,
 * which each consumer received and how often, and the latencies, per reporting interval and over
 * the whole run.
 */
import { performance } from 'node:perf_hooks';
import { Samples, type LatencySummary } from './stats.js';

/**
 * How many times each seq was seen (saturating at 255). A feed's seqs are dense small integers, so
 * an array indexed by seq costs a byte a message where a Set of 10^5 numbers would cost far more
 * of the bench process, which shares the machine with the server.
 */
export class SeqCounts {
  private counts = new Uint8Array(1 << 16);
  private top = 0;

  /** Counts one sighting of `seq`; answers how many there have been, this one included. */
  add(seq: number): number {
    if (seq >= this.counts.length) {
      const grown = new Uint8Array(Math.max(this.counts.length * 2, seq + 1));
      grown.set(this.counts);
      this.counts = grown;
    }
    const count = Math.min(255, (this.counts[seq] ?? 0) + 1);
    this.counts[seq] = count;
    if (seq > this.top) this.top = seq;
    return count;
  }

  count(seq: number): number {
    return this.counts[seq] ?? 0;
  }

  /** The highest seq seen, 0 before any. */
  get highest(): number {
    return this.top;
  }
}

/** Latencies of one kind: those of the current reporting interval, and all of them. */
export class LatencyWindow {
  private interval = new Samples();
  readonly total = new Samples();

  add(ms: number): void {
    this.interval.add(ms);
    this.total.add(ms);
  }

  /** The current interval's figures; the next interval starts empty. */
  take(): LatencySummary {
    const summary = this.interval.summary();
    this.interval = new Samples();
    return summary;
  }
}

/** The publish time a soak message carries in its content (the bench's own clock), NaN if none. */
export function sentAtOf(content: unknown): number {
  const at = (content as { at?: unknown } | null | undefined)?.at;
  return typeof at === 'number' ? at : Number.NaN;
}

/** A cursor reader: every seq it was handed, duplicates, and what went wrong on the way. */
export class ConsumerTally {
  readonly seqs = new SeqCounts();
  /** Publish to receipt, first receipt of each seq. */
  readonly latency = new LatencyWindow();
  duplicates = 0;
  reconnects = 0;
  /** Gaps, cursors ahead, fatal ends: each one a loss or a bug, told in the summary. */
  readonly incidents: string[] = [];

  constructor(readonly kind: string) {}

  received(seq: number, content: unknown): void {
    if (this.seqs.add(seq) > 1) this.duplicates++;
    else this.latency.add(performance.now() - sentAtOf(content));
  }
}

/**
 * A consumer group's workers: every delivery to a handler, and the deliveries whose ack did not
 * succeed (refused, failed, or never sent because the lease was lost). An ack succeeded for each
 * delivery that is not among the latter.
 */
export class GroupTally {
  readonly handled = new SeqCounts();
  readonly notAcked = new SeqCounts();
  /** Publish to the handler, first delivery of each seq. */
  readonly latency = new LatencyWindow();
  ackFailures = 0;
  reconnects = 0;
  readonly incidents: string[] = [];

  delivered(seq: number, content: unknown): void {
    if (this.handled.add(seq) === 1) this.latency.add(performance.now() - sentAtOf(content));
  }

  unacked(seq: number): void {
    this.notAcked.add(seq);
    this.ackFailures++;
  }

  /** Acks of `seq` that succeeded. */
  acks(seq: number): number {
    return this.handled.count(seq) - this.notAcked.count(seq);
  }
}

/** The publishers: the seqs the server acknowledged, and the publishes that failed after retries. */
export class PublishTally {
  readonly acked = new SeqCounts();
  /** From just before the publish call to its answer, retries included. */
  readonly latency = new LatencyWindow();
  ackedCount = 0;
  failed = 0;
  retries = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly errors: string[] = [];

  started(): void {
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
  }

  succeeded(seq: number, latencyMs: number): void {
    this.inFlight--;
    this.acked.add(seq);
    this.ackedCount++;
    this.latency.add(latencyMs);
  }

  failedWith(error: unknown): void {
    this.inFlight--;
    this.failed++;
    if (this.errors.length < 5) this.errors.push(String((error as Error).message ?? error));
  }

  /** Every seq the server acknowledged, oldest first. */
  *ackedSeqs(): Generator<number> {
    for (let seq = 1; seq <= this.acked.highest; seq++) if (this.acked.count(seq) > 0) yield seq;
  }
}
