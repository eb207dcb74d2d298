/**
 * A polling worker done once: read after the cursor, hand each entry to the handler in seq order,
 * persist the cursor only after the handler resolved, retry what failed, never skip.
 */
import type { AtomMQClient } from './client.js';
import { MemoryCursorStore, type CursorStore } from './cursor-store.js';
import { AbortedError, ConnectionError, HandlerError, HttpError, InvalidArgumentError, ResponseError } from './errors.js';
import { backoffDelay, isRetryable, retryPolicy, sleep, type RetryPolicy } from './retry.js';
import { readEvents } from './sse.js';
import type { Entry } from './types.js';

/** What a handler gets besides the entry. */
export interface HandlerContext {
  readonly feed: string;
  /** 1 the first time this entry is handed over by this subscription, then 2, 3, … after failures. */
  readonly attempt: number;
  /** Fires when the subscription is stopped; a handler may use it to give up early (its entry is then delivered again next time). */
  readonly signal: AbortSignal;
}

/**
 * Processes one entry. Resolve to acknowledge it (its seq is then persisted); throw (or reject) to
 * have it retried with backoff. Tombstones (`entry.deleted === true`) are delivered too.
 */
export type Handler = (entry: Entry, context: HandlerContext) => unknown;

/** Where a failure that is being retried happened. */
export type FailurePhase = 'handler' | 'connection' | 'cursor';

export interface FailureContext {
  readonly phase: FailurePhase;
  /** Consecutive failures in this phase, 1 for the first. */
  readonly attempt: number;
  /** The wait before the next try. */
  readonly delayMs: number;
  /** The entry whose handler failed or whose cursor could not be saved. */
  readonly entry?: Entry;
}

/** Options of {@link AtomMQClient.subscribe}. */
export interface SubscribeOptions {
  /**
   * Keeps the seq of the last entry whose handler resolved. A subscription resumes from it.
   * @defaultValue a MemoryCursorStore (nothing survives the process)
   */
  readonly cursorStore?: CursorStore;
  /**
   * Where to start when the cursor store holds nothing: a seq (0 is the feed's beginning), or
   * `'latest'` for only what is published from now on (that position is saved at once, so a
   * restart does not move it). Ignored once the store holds a cursor.
   * @defaultValue 0
   */
  readonly from?: number | 'latest';
  /**
   * `'longpoll'`: `GET ?wait=` in a loop. `'sse'`: one server-sent-event stream (`Accept:
   * text/event-stream`), reopened from the cursor when it breaks.
   * @defaultValue 'longpoll'
   */
  readonly transport?: 'longpoll' | 'sse';
  /**
   * `false` reads what is there and stops once caught up (`done` then resolves): a batch job.
   * Always uses plain reads, whatever `transport` says.
   * @defaultValue true
   */
  readonly follow?: boolean;
  /** Long-poll page size, 1 to 1000. @defaultValue 100 */
  readonly limit?: number;
  /** Long-poll wait per request, in seconds (the server caps it at the feed's maxWait). @defaultValue 25 */
  readonly wait?: number;
  /** SSE: no byte (event or heartbeat) for this long, in ms, means the stream is dead. @defaultValue 45000 (three 15 s heartbeats) */
  readonly idleTimeout?: number;
  /** Backoff between reconnects after network errors, 5xx or a server restart. @defaultValue { retries: Infinity, minDelayMs: 100, maxDelayMs: 5000 } */
  readonly reconnect?: Partial<RetryPolicy>;
  /**
   * Backoff between attempts of a handler that threw. When `retries` run out the subscription
   * ends with a {@link HandlerError}, its cursor still before that entry.
   * @defaultValue { retries: Infinity, minDelayMs: 100, maxDelayMs: 30000 }
   */
  readonly handlerRetry?: Partial<RetryPolicy>;
  /** Told about every failure that is going to be retried (for logging). */
  readonly onError?: (error: unknown, context: FailureContext) => void;
  /** Stops the subscription when it fires, like `stop()`. */
  readonly signal?: AbortSignal;
}

const OPTION_NAMES = new Set(['cursorStore', 'from', 'transport', 'follow', 'limit', 'wait', 'idleTimeout', 'reconnect', 'handlerRetry', 'onError', 'signal']);
const RECONNECT: RetryPolicy = { retries: Infinity, minDelayMs: 100, maxDelayMs: 5000, factor: 2 };
const HANDLER_RETRY: RetryPolicy = { retries: Infinity, minDelayMs: 100, maxDelayMs: 30_000, factor: 2 };
/** An SSE stream that lived this long was healthy: the next break starts the backoff afresh. */
const HEALTHY_STREAM_MS = 5000;

/** Parses one SSE event into an entry: `data:` is the entry's JSON, `id:` its seq. */
function entryOf(data: string, id: string | undefined): Entry {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw new ResponseError(`an event's data is not JSON: ${data.slice(0, 100)}`, error);
  }
  if (typeof value !== 'object' || value === null) throw new ResponseError(`an event's data is not an entry: ${data.slice(0, 100)}`);
  const seq = (value as { seq?: unknown }).seq ?? (id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw new ResponseError(`an event carries no seq: ${data.slice(0, 100)}`);
  return { ...(value as Entry), seq };
}

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
  private readonly store: CursorStore;
  private readonly reconnect: RetryPolicy;
  private readonly handlerRetry: RetryPolicy;
  private stopping = false;
  private cursor: number | undefined;

  constructor(
    private readonly client: AtomMQClient,
    readonly feed: string,
    private readonly handler: Handler,
    private readonly options: SubscribeOptions,
  ) {
    for (const key of Object.keys(options)) {
      if (!OPTION_NAMES.has(key)) throw new InvalidArgumentError(`unknown subscribe option "${key}"; expected one of ${[...OPTION_NAMES].join(', ')}`);
    }
    if (typeof handler !== 'function') throw new InvalidArgumentError('subscribe needs a handler function');
    const from = options.from ?? 0;
    if (from !== 'latest' && !(Number.isSafeInteger(from) && from >= 0)) throw new InvalidArgumentError(`from must be a seq (an integer >= 0) or 'latest', not ${String(from)}`);
    if (options.transport !== undefined && options.transport !== 'longpoll' && options.transport !== 'sse') {
      throw new InvalidArgumentError(`transport must be 'longpoll' or 'sse', not ${String(options.transport)}`);
    }
    if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit >= 1 && options.limit <= 1000)) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to 1000, not ${options.limit}`);
    }
    if (options.wait !== undefined && !(Number.isFinite(options.wait) && options.wait >= 0)) throw new InvalidArgumentError(`wait must be a number of seconds >= 0, not ${options.wait}`);
    if (options.idleTimeout !== undefined && !(Number.isFinite(options.idleTimeout) && options.idleTimeout > 0)) {
      throw new InvalidArgumentError(`idleTimeout must be a number of ms > 0, not ${options.idleTimeout}`);
    }
    const store = options.cursorStore;
    if (store !== undefined && (typeof store.load !== 'function' || typeof store.save !== 'function')) {
      throw new InvalidArgumentError('cursorStore must have load() and save(seq) methods');
    }
    this.store = store ?? new MemoryCursorStore();
    this.reconnect = retryPolicy(options.reconnect, RECONNECT);
    this.handlerRetry = retryPolicy(options.handlerRetry, HANDLER_RETRY);
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
    let cursor = await this.start();
    if (cursor === undefined) return;
    this.cursor = cursor;
    const follow = this.options.follow ?? true;
    if (follow && this.options.transport === 'sse') await this.streamLoop(cursor);
    else await this.pollLoop(cursor, follow);
  }

  /** The cursor to start from: the store's, else `from` (saving it when it is 'latest'). Undefined if stopped meanwhile. */
  private async start(): Promise<number | undefined> {
    const saved = await this.store.load();
    if (saved !== undefined) return saved;
    const from = this.options.from ?? 0;
    if (from !== 'latest') return from;
    for (let failures = 0; ;) {
      try {
        const latest = await this.client.latestId(this.feed, { signal: this.abort.signal, retry: false });
        if (!(await this.persist(latest, undefined))) return undefined;
        return latest;
      } catch (error) {
        if (!(await this.recover(error, failures++))) return undefined;
      }
    }
  }

  /** Long-poll (or, without follow, plain) reads after the cursor, one page at a time. */
  private async pollLoop(start: number, follow: boolean): Promise<void> {
    let cursor = start;
    let failures = 0;
    while (!this.stopping) {
      let page;
      try {
        page = await this.client.read(this.feed, {
          lastId: cursor, limit: this.options.limit, wait: follow ? this.options.wait ?? 25 : 0, signal: this.abort.signal, retry: false,
        });
        failures = 0;
      } catch (error) {
        if (!(await this.recover(error, failures++))) return;
        continue;
      }
      for (const entry of page.entries) {
        if (entry.seq <= cursor) continue;
        if (this.stopping || !(await this.deliver(entry))) return;
        cursor = entry.seq;
      }
      if (!follow && !page.hasMore) return;
    }
  }

  /** One SSE stream from the cursor; reopened from the cursor, with backoff, whenever it breaks or ends. */
  private async streamLoop(start: number): Promise<void> {
    let cursor = start;
    let failures = 0;
    while (!this.stopping) {
      const opened = Date.now();
      let delivered = false;
      try {
        const body = await this.client.openEventStream(this.feed, cursor, {
          signal: this.abort.signal, idleTimeoutMs: this.options.idleTimeout ?? 45_000,
        });
        for await (const event of readEvents(body)) {
          // Entries are plain `message` events. The server names its other events: `closing` says
          // why it ends the stream (shutting down, or this reader fell too far behind) just before
          // it does, and the stream is then reopened from the cursor like after any break.
          if (event.event !== 'message') continue;
          const entry = entryOf(event.data, event.id);
          // Entries at or before the cursor were handled already (a stream reopened from a cursor the
          // server read as an older one, say): seqs only grow, so skipping them loses nothing.
          if (entry.seq <= cursor) continue;
          if (this.stopping || !(await this.deliver(entry))) return;
          cursor = entry.seq;
          delivered = true;
        }
        throw new ConnectionError(`the event stream of feed "${this.feed}" ended`);
      } catch (error) {
        if (delivered || Date.now() - opened > HEALTHY_STREAM_MS) failures = 0;
        if (!(await this.recover(error, failures++))) return;
      }
    }
  }

  /**
   * After a failed read or stream: false if stopping; rethrows what retrying cannot fix (4xx, a bad
   * answer, a handler out of retries); else reports it and waits out the backoff.
   */
  private async recover(error: unknown, failures: number): Promise<boolean> {
    if (this.stopping) return false;
    if (!isRetryable(error) || failures >= this.reconnect.retries) throw error;
    const retryAfter = error instanceof HttpError ? error.retryAfterMs ?? 0 : 0;
    const delayMs = Math.max(backoffDelay(failures, this.reconnect), Math.min(retryAfter, this.reconnect.maxDelayMs));
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
        if (attempt > this.handlerRetry.retries) throw new HandlerError(entry.seq, attempt, error);
        if (this.stopping) return false;
        const delayMs = backoffDelay(attempt - 1, this.handlerRetry);
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
        await this.store.save(seq);
        this.cursor = seq;
        return true;
      } catch (error) {
        if (this.stopping) return false;
        const delayMs = backoffDelay(attempt - 1, this.reconnect);
        this.report(error, { phase: 'cursor', attempt, delayMs, ...(entry ? { entry } : {}) });
        if (!(await this.pause(delayMs))) return false;
      }
    }
  }

  private report(error: unknown, context: FailureContext): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // A logging callback that throws must not stop the worker.
    }
  }

  /** Waits `ms` unless stopped meanwhile; false when stopped. */
  private pause(ms: number): Promise<boolean> {
    return sleep(ms, this.abort.signal).then(() => !this.stopping, () => false);
  }
}
