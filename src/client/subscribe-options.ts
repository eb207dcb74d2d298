/**
 * What `subscribe()` takes: the handler, its context, the options and their defaults, checked once.
 */
import { checkLimit, checkOptionNames, checkWait } from './checks.js';
import { MemoryCursorStore, type CursorStore } from './cursor-store.js';
import { InvalidArgumentError } from './errors.js';
import { retryPolicy, type RetryPolicy } from './retry.js';
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

/**
 * Where a failure that is being retried happened; `gap`: entries were lost, reported with a
 * GapError because `onGap` is `'continue'`.
 */
export type FailurePhase = 'handler' | 'connection' | 'cursor' | 'gap';

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
  /**
   * When the server reports lost entries (a GapError: retention removed seqs before they were read,
   * or the cursor is ahead of the server's database): `'error'` ends the subscription with the
   * GapError, its cursor still before the loss; `'continue'` reports it to `onError` (phase `gap`)
   * and goes on, from the newest seq when the cursor was ahead.
   * @defaultValue 'error'
   */
  readonly onGap?: 'error' | 'continue';
  /** Told about every failure that is going to be retried (for logging). */
  readonly onError?: (error: unknown, context: FailureContext) => void;
  /** Stops the subscription when it fires, like `stop()`. */
  readonly signal?: AbortSignal;
}

/** The options with their defaults, checked. */
export interface SubscribeSettings {
  readonly store: CursorStore;
  readonly from: number | 'latest';
  readonly mode: 'longpoll' | 'sse' | 'catch-up';
  readonly limit: number | undefined;
  readonly waitS: number;
  readonly idleTimeoutMs: number;
  readonly reconnect: RetryPolicy;
  readonly handlerRetry: RetryPolicy;
  readonly onError: SubscribeOptions['onError'];
  readonly onGap: 'error' | 'continue';
}

const OPTION_NAMES = new Set(['cursorStore', 'from', 'transport', 'follow', 'limit', 'wait', 'idleTimeout', 'reconnect', 'handlerRetry', 'onError', 'onGap', 'signal']);
const RECONNECT: RetryPolicy = { retries: Infinity, minDelayMs: 100, maxDelayMs: 5000, factor: 2 };
const HANDLER_RETRY: RetryPolicy = { retries: Infinity, minDelayMs: 100, maxDelayMs: 30_000, factor: 2 };

/**
 * Checks a handler and its options (a mistake throws an {@link InvalidArgumentError}) and fills in
 * the defaults.
 *
 * @example subscribeSettings(handle, { transport: 'sse' }).idleTimeoutMs // 45000
 */
export function subscribeSettings(handler: Handler, options: SubscribeOptions): SubscribeSettings {
  checkOptionNames(options, OPTION_NAMES, 'subscribe option');
  if (typeof handler !== 'function') throw new InvalidArgumentError('subscribe needs a handler function');
  const from = options.from ?? 0;
  if (from !== 'latest' && !(Number.isSafeInteger(from) && from >= 0)) throw new InvalidArgumentError(`from must be a seq (an integer >= 0) or 'latest', not ${String(from)}`);
  if (options.transport !== undefined && options.transport !== 'longpoll' && options.transport !== 'sse') {
    throw new InvalidArgumentError(`transport must be 'longpoll' or 'sse', not ${String(options.transport)}`);
  }
  if (options.onGap !== undefined && options.onGap !== 'error' && options.onGap !== 'continue') {
    throw new InvalidArgumentError(`onGap must be 'error' or 'continue', not ${String(options.onGap)}`);
  }
  checkLimit(options.limit);
  checkWait(options.wait);
  if (options.idleTimeout !== undefined && !(Number.isFinite(options.idleTimeout) && options.idleTimeout > 0)) {
    throw new InvalidArgumentError(`idleTimeout must be a number of ms > 0, not ${options.idleTimeout}`);
  }
  const store = options.cursorStore;
  if (store !== undefined && (typeof store.load !== 'function' || typeof store.save !== 'function')) {
    throw new InvalidArgumentError('cursorStore must have load() and save(seq) methods');
  }
  const follow = options.follow ?? true;
  return Object.freeze({
    store: store ?? new MemoryCursorStore(),
    from,
    // Without follow, plain reads until caught up, whatever the transport.
    mode: !follow ? 'catch-up' : options.transport ?? 'longpoll',
    limit: options.limit,
    // Without follow nothing waits: an empty page means caught up.
    waitS: follow ? options.wait ?? 25 : 0,
    idleTimeoutMs: options.idleTimeout ?? 45_000,
    reconnect: retryPolicy(options.reconnect, RECONNECT),
    handlerRetry: retryPolicy(options.handlerRetry, HANDLER_RETRY),
    onError: options.onError,
    onGap: options.onGap ?? 'error',
  });
}
