/**
 * A competing consumer of a consumer group: claim as many messages as there are free slots, run
 * the handler on each, ack what resolved, nack what threw, and keep the lease of a handler that is
 * still running.
 */
import { AckBatcher } from './ack-batcher.js';
import { AbortedError, LeaseLostError, ResponseError } from './errors.js';
import type { ClaimedMessage } from './group-types.js';
import type { GroupApi } from './groups.js';
import { LeaseKeeper, leaseEnd } from './lease-keeper.js';
import { isRetryable, retryDelay, sleep } from './retry.js';
import { workSettings, type WorkFailure, type WorkHandler, type WorkOptions, type WorkSettings } from './work-options.js';

/** The longest nack reason the server keeps. */
const MAX_REASON = 1000;

/** Counters of a worker, for monitoring and tests. */
export interface WorkerStats {
  /** Messages claimed. */
  claimed: number;
  acked: number;
  nacked: number;
  /** Lease extensions that succeeded. */
  extended: number;
  /** Messages whose lease was lost (a refused extension, ack or nack): another consumer has them. */
  lost: number;
}

function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, MAX_REASON);
}

/**
 * A running worker of a consumer group. At-least-once: a message is acked only after its handler
 * resolved, so a worker that dies leaves its messages leased until their leases end, and then
 * another worker gets them.
 */
export class Worker {
  /**
   * Settles when the worker has ended: resolves after `stop()`; rejects on a fatal error (a 4xx
   * such as an unknown feed, an answer that is not AtomMQ's), after the running handlers finished.
   */
  readonly done: Promise<void>;
  /** Resolves when the worker has ended, however it ended. @internal */
  readonly ended: Promise<void>;
  private readonly abort = new AbortController();
  private readonly settings: WorkSettings;
  private readonly running = new Set<Promise<void>>();
  private readonly acks: AckBatcher;
  private readonly counters: WorkerStats = { claimed: 0, acked: 0, nacked: 0, extended: 0, lost: 0 };
  private stopping = false;

  /** Starts at once; see {@link AtomMQClient.work}. */
  constructor(
    private readonly api: GroupApi,
    readonly feed: string,
    readonly group: string,
    private readonly handler: WorkHandler,
    options: WorkOptions,
  ) {
    this.settings = workSettings(handler, options);
    this.acks = new AckBatcher((receipts) => api.ack(feed, group, receipts));
    if (options.signal?.aborted) this.stopping = true;
    else options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const running = this.run();
    this.ended = running.then(() => undefined, () => undefined);
    this.done = running.then(() => undefined);
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<WorkerStats> {
    return { ...this.counters };
  }

  /** Messages whose handler is running (or being acked) now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Stops claiming (a claim waiting for messages is cancelled), lets the running handlers finish
   * and their messages be acked or nacked, and resolves once nothing runs any more. Safe twice.
   * (A claim cancelled just as the server answered it leaves its messages leased to no one until
   * their lease ends; then they are delivered again.)
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.abort.abort(new AbortedError('the worker was stopped'));
    }
    return this.ended;
  }

  private async run(): Promise<void> {
    try {
      await this.claimLoop();
    } finally {
      this.stopping = true;
      await Promise.all(this.running);
    }
  }

  private async claimLoop(): Promise<void> {
    const { concurrency, limit, waitS, leaseS } = this.settings;
    let failures = 0;
    while (!this.stopping) {
      const free = concurrency - this.running.size;
      if (free === 0) {
        await Promise.race(this.running);
        continue;
      }
      const sentAt = Date.now();
      let messages: ClaimedMessage[];
      try {
        messages = await this.api.claim(this.feed, this.group, {
          limit: Math.min(free, limit), wait: waitS, lease: leaseS, signal: this.abort.signal, retry: false,
        });
        failures = 0;
      } catch (error) {
        if (!(await this.recover(error, failures++))) return;
        continue;
      }
      this.counters.claimed += messages.length;
      for (const message of messages) {
        const task = this.handle(message, sentAt).finally(() => this.running.delete(task));
        this.running.add(task);
      }
    }
  }

  /** After a failed claim: false if stopping; rethrows what retrying cannot fix; else waits out the backoff. */
  private async recover(error: unknown, failures: number): Promise<boolean> {
    if (this.stopping) return false;
    const { reconnect } = this.settings;
    if (!isRetryable(error) || failures >= reconnect.retries) throw error;
    const delayMs = retryDelay(error, failures, reconnect);
    this.report(error, { phase: 'claim', attempt: failures + 1, delayMs });
    return sleep(delayMs, this.abort.signal).then(() => !this.stopping, () => false);
  }

  /** Runs the handler on one message under a kept lease, then acks or nacks it. Never rejects. */
  private async handle(message: ClaimedMessage, claimSentAt: number): Promise<void> {
    const { feed, group } = this;
    const lost = new AbortController();
    const keeper = new LeaseKeeper({
      extend: () => this.extendLease(message),
      expiresAt: leaseEnd(claimSentAt, message.leaseExpires, this.settings.leaseS),
      leaseS: this.settings.leaseS,
      onLost: (error) => {
        this.counters.lost++;
        this.report(error, { phase: 'extend', message });
        lost.abort(error);
      },
      onFailure: (error, delayMs) => this.report(error, { phase: 'extend', message, delayMs }),
      onExtended: () => { this.counters.extended++; },
    });
    let failure: { error: unknown } | undefined;
    try {
      await this.handler(message, { feed, group, signal: lost.signal });
    } catch (error) {
      failure = { error };
    }
    await keeper.stop();
    // Another consumer has the message now; acking or nacking it would be refused.
    if (lost.signal.aborted) return;
    if (failure) {
      this.report(failure.error, { phase: 'handler', message });
      const reason = reasonOf(failure.error);
      await this.settle('nack', message, () => this.api.nack(feed, group, [message.receipt], { reason }));
    } else {
      await this.settle('ack', message, () => this.acks.ack(message.receipt));
    }
  }

  private async extendLease(message: ClaimedMessage): Promise<Date> {
    const [outcome] = await this.api.extend(this.feed, this.group, [message.receipt], { lease: this.settings.leaseS });
    if (!outcome?.leaseExpires) throw new ResponseError(`the extension of seq ${message.seq} answered no leaseExpires`);
    return outcome.leaseExpires;
  }

  /**
   * Acks or nacks one message. A failure is reported, not retried beyond the transport's retries:
   * the lease then ends and the message is delivered again, which at-least-once allows.
   */
  private async settle(phase: 'ack' | 'nack', message: ClaimedMessage, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      this.counters[phase === 'ack' ? 'acked' : 'nacked']++;
    } catch (error) {
      if (error instanceof LeaseLostError) this.counters.lost++;
      this.report(error, { phase, message });
    }
  }

  private report(error: unknown, context: WorkFailure): void {
    try {
      this.settings.onError?.(error, context);
    } catch {
      // A logging callback that throws must not stop the worker.
    }
  }
}
