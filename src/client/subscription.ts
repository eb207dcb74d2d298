/**
 * A polling worker done once: read after the cursor, hand each entry to the handler in seq order,
 * persist the cursor only after the handler resolved, retry what failed, never skip.
 */
import { AbortedError, ConnectionError, GapError, HandlerError, HttpError } from './errors.js';
import type { FeedReader } from './feed-reader.js';
import { backoffDelay, isRetryable, retryDelay, sleep } from './retry.js';
import { subscribeSettings, type FailureContext, type Handler, type SubscribeOptions, type SubscribeSettings } from './subscribe-options.js';
import type { Entry, Gap } from './types.js';

/** An SSE stream that lived this long was healthy: the next break starts the backoff afresh. */
const HEALTHY_STREAM_MS = 5000;

/**
 * A running subscription. Entries are handed to the handler one at a time, in seq order; an
 * entry's seq is saved to the cursor store only once its handler resolved, so a crash replays at
 * most the entry in progress (at-least-once), and a handler that throws is retried on the same
 * entry, never skipping it.
 */
export class Subscription {
  /**
   * Settles when the subscription ends: resolves after `stop()` (or, with `follow: false`, once
   * caught up); rejects on a fatal error: a 4xx from the server (unknown feed, refused access), a
   * cursor file that cannot be read, a handler out of retries, an answer that is not AtomMQ's.
   * Await it or catch it: left alone, a rejection is an unhandled rejection, which ends a Node.js
   * process, as a worker that cannot go on should.
   */
  readonly done: Promise<void>;
  /** Resolves when the subscription has ended, however it ended. @internal */
  readonly ended: Promise<void>;
  private readonly abort = new AbortController();
  private readonly settings: SubscribeSettings;
  private stopping = false;
  private cursor: number | undefined;
  /** The last seq of the last gap reported: a gap told again (each read, each reconnect) is reported once. */
  private gapTold = 0;

  /** Starts at once; see {@link AtomMQClient.subscribe}. */
  constructor(
    private readonly reader: FeedReader,
    readonly feed: string,
    private readonly handler: Handler,
    options: SubscribeOptions,
  ) {
    this.settings = subscribeSettings(handler, options);
    if (options.signal?.aborted) this.stopping = true;
    else options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const running = this.run().finally(() => this.abort.abort(new AbortedError('the subscription ended')));
    // `ended` and `done` are two promises from one run, so that waiting on `ended` (as stop() and
    // the client do) does not count as handling a rejection of `done`.
    this.ended = running.then(() => undefined, () => undefined);
    this.done = running.then(() => undefined);
  }

  /** The seq of the last entry handled and saved; `undefined` until the starting cursor is known. */
  get lastId(): number | undefined {
    return this.cursor;
  }

  /**
   * Stops: cancels the pending read or stream and any backoff, lets the handler that is running
   * finish (its seq is then saved), and resolves once nothing runs any more. Safe to call twice.
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.abort.abort(new AbortedError('the subscription was stopped'));
    }
    return this.ended;
  }

  private async run(): Promise<void> {
    if (this.stopping) return;
    const cursor = await this.start();
    if (cursor === undefined) return;
    this.cursor = cursor;
    if (this.settings.mode === 'sse') await this.streamLoop(cursor);
    else await this.pollLoop(cursor);
  }

  /** The cursor to start from: the store's, else `from` (saving it when it is 'latest'). Undefined if stopped meanwhile. */
  private async start(): Promise<number | undefined> {
    const saved = await this.settings.store.load();
    if (saved !== undefined) return saved;
    const { from } = this.settings;
    if (from !== 'latest') return from;
    for (let failures = 0; ;) {
      try {
        const latest = await this.reader.latestId(this.feed, { signal: this.abort.signal, retry: false });
        if (!(await this.persist(latest, undefined))) return undefined;
        return latest;
      } catch (error) {
        if (!(await this.recover(error, failures++))) return undefined;
      }
    }
  }

  /** Long-poll (or, without follow, plain) reads after the cursor, one page at a time. */
  private async pollLoop(start: number): Promise<void> {
    let cursor = start;
    let failures = 0;
    while (!this.stopping) {
      let page;
      try {
        page = await this.reader.read(this.feed, {
          lastId: cursor, limit: this.settings.limit, wait: this.settings.waitS, signal: this.abort.signal, retry: false,
        });
        failures = 0;
      } catch (error) {
        const ahead = await this.skipAhead(error, cursor);
        if (ahead !== undefined) cursor = ahead;
        else if (!(await this.recover(error, failures++))) return;
        continue;
      }
      if (page.gap) this.gap(page.gap);
      for (const entry of page.entries) {
        if (entry.seq <= cursor) continue;
        if (this.stopping || !(await this.deliver(entry))) return;
        cursor = entry.seq;
      }
      // The page held everything after the cursor: the gap's seqs are gone and none of them is left
      // to read, so the cursor moves past them rather than being told of them again on each read.
      if (page.gap && !page.hasMore && cursor < page.gap.to) {
        if (!(await this.persist(page.gap.to, undefined))) return;
        cursor = page.gap.to;
      }
      if (this.settings.mode === 'catch-up' && !page.hasMore) return;
    }
  }

  /**
   * One SSE stream from the cursor; reopened from the cursor, with backoff, whenever it breaks or
   * ends (the server's `closing` event, say, just before it ends the stream).
   */
  private async streamLoop(start: number): Promise<void> {
    let cursor = start;
    let failures = 0;
    while (!this.stopping) {
      const opened = Date.now();
      let delivered = false;
      try {
        const entries = await this.reader.openStream(this.feed, cursor, { signal: this.abort.signal, idleTimeoutMs: this.settings.idleTimeoutMs });
        for await (const entry of entries) {
          if ('gap' in entry) {
            this.gap(entry.gap);
            continue;
          }
          // Entries at or before the cursor were handled already (a stream reopened from a cursor the
          // server read as an older one, say): seqs only grow, so skipping them loses nothing.
          if (entry.seq <= cursor) continue;
          if (this.stopping || !(await this.deliver(entry))) return;
          cursor = entry.seq;
          delivered = true;
        }
        throw new ConnectionError(`the event stream of feed "${this.feed}" ended`);
      } catch (error) {
        const ahead = await this.skipAhead(error, cursor);
        if (ahead !== undefined) {
          cursor = ahead;
          continue;
        }
        if (delivered || Date.now() - opened > HEALTHY_STREAM_MS) failures = 0;
        if (!(await this.recover(error, failures++))) return;
      }
    }
  }

  /** Seqs retention removed before they were read: throws a GapError, or (onGap 'continue') reports it once. */
  private gap(gap: Gap): void {
    if (gap.to <= this.gapTold) return;
    this.gapTold = gap.to;
    const error = new GapError(this.feed, gap.from, gap.to, 'GAP');
    if (this.settings.onGap === 'error') throw error;
    this.report(error, { phase: 'gap', attempt: 1, delayMs: 0 });
  }

  /**
   * A cursor ahead of the server's database (409 CURSOR_AHEAD): throws a GapError, or (onGap
   * 'continue') reports it and resolves with the newest seq, saved as the cursor. Undefined for
   * any other error.
   */
  private async skipAhead(error: unknown, cursor: number): Promise<number | undefined> {
    if (!(error instanceof HttpError && error.code === 'CURSOR_AHEAD')) return undefined;
    const newest = Number(error.problem?.['newest']);
    if (!Number.isSafeInteger(newest)) throw error;
    if (this.stopping) return cursor;
    const lost = new GapError(this.feed, newest + 1, cursor, 'CURSOR_AHEAD', error);
    if (this.settings.onGap === 'error') throw lost;
    this.report(lost, { phase: 'gap', attempt: 1, delayMs: 0 });
    await this.persist(newest, undefined);
    return newest;
  }

  /**
   * After a failed read or stream: false if stopping; rethrows what retrying cannot fix (4xx, a bad
   * answer, a handler out of retries); else reports it and waits out the backoff.
   */
  private async recover(error: unknown, failures: number): Promise<boolean> {
    if (this.stopping) return false;
    if (!isRetryable(error) || failures >= this.settings.reconnect.retries) throw error;
    const delayMs = retryDelay(error, failures, this.settings.reconnect);
    this.report(error, { phase: 'connection', attempt: failures + 1, delayMs });
    return this.pause(delayMs);
  }

  /** Hands one entry to the handler until it resolves, then saves its seq. False if stopped first. */
  private async deliver(entry: Entry): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.handler(entry, { feed: this.feed, attempt, signal: this.abort.signal });
        break;
      } catch (error) {
        if (attempt > this.settings.handlerRetry.retries) throw new HandlerError(entry.seq, attempt, error);
        if (this.stopping) return false;
        const delayMs = backoffDelay(attempt - 1, this.settings.handlerRetry);
        this.report(error, { phase: 'handler', attempt, delayMs, entry });
        if (!(await this.pause(delayMs))) return false;
      }
    }
    return this.persist(entry.seq, entry);
  }

  /**
   * Saves a cursor, retrying (the handler's work is done; only the save is missing). Gives up only
   * when stopped, and then the entry is simply delivered again next time.
   */
  private async persist(seq: number, entry: Entry | undefined): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.settings.store.save(seq);
        this.cursor = seq;
        return true;
      } catch (error) {
        if (this.stopping) return false;
        const delayMs = backoffDelay(attempt - 1, this.settings.reconnect);
        this.report(error, { phase: 'cursor', attempt, delayMs, ...(entry ? { entry } : {}) });
        if (!(await this.pause(delayMs))) return false;
      }
    }
  }

  private report(error: unknown, context: FailureContext): void {
    try {
      this.settings.onError?.(error, context);
    } catch {
      // A logging callback that throws must not stop the worker.
    }
  }

  /** Waits `ms` unless stopped meanwhile; false when stopped. */
  private pause(ms: number): Promise<boolean> {
    return sleep(ms, this.abort.signal).then(() => !this.stopping, () => false);
  }
}
