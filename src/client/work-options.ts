/**
 * What `work()` takes: the handler, its context, the options and their defaults, checked once.
 */
import { checkLimit, checkOptionNames, checkSeconds, checkWait } from './checks.js';
import { InvalidArgumentError } from './errors.js';
import type { ClaimedMessage } from './group-types.js';
import { retryPolicy, type RetryPolicy } from './retry.js';

/** What a work handler gets besides the message. */
export interface WorkContext {
  readonly feed: string;
  readonly group: string;
  /**
   * Fires when the message's lease was lost (its extension was refused: the message was claimed
   * again, so another consumer has it). The handler may give up; its ack would be refused anyway.
   */
  readonly signal: AbortSignal;
}

/** Handles one claimed message: resolve to ack it, throw (or reject) to nack it. */
export type WorkHandler = (message: ClaimedMessage, context: WorkContext) => unknown;

/** Where a failure happened: a claim (retried with backoff), the handler (nacked), or settling a message. */
export type WorkPhase = 'claim' | 'handler' | 'ack' | 'nack' | 'extend';

export interface WorkFailure {
  readonly phase: WorkPhase;
  /** The message concerned, except for claims. */
  readonly message?: ClaimedMessage;
  /** Claims: consecutive failures, 1 for the first. */
  readonly attempt?: number;
  /** Claims and extensions: the wait before the next try. */
  readonly delayMs?: number;
}

/** Options of {@link AtomMQClient.work}. */
export interface WorkOptions {
  /** Handlers running at once; the worker claims only as many messages as it has free slots. @defaultValue 1 */
  readonly concurrency?: number;
  /** Most messages per claim, 1 to 1000. @defaultValue the free slots */
  readonly limit?: number;
  /** Seconds a claim waits for messages when none is available (the server caps it at the feed's maxWait). @defaultValue 20 */
  readonly wait?: number;
  /** Whole seconds each claim (and each extension) leases its messages for. @defaultValue the group's lease */
  readonly lease?: number;
  /** Backoff between claims after network errors, 5xx or a server restart. @defaultValue { retries: Infinity, minDelayMs: 100, maxDelayMs: 5000 } */
  readonly reconnect?: Partial<RetryPolicy>;
  /** Told about every failure (for logging): a claim retried, a handler that threw, an ack, nack or extension that failed. */
  readonly onError?: (error: unknown, context: WorkFailure) => void;
  /** Stops the worker when it fires, like `stop()`. */
  readonly signal?: AbortSignal;
}

/** The options with their defaults, checked. */
export interface WorkSettings {
  readonly concurrency: number;
  readonly limit: number;
  readonly waitS: number;
  readonly leaseS: number | undefined;
  readonly reconnect: RetryPolicy;
  readonly onError: WorkOptions['onError'];
}

const OPTION_NAMES = new Set(['concurrency', 'limit', 'wait', 'lease', 'reconnect', 'onError', 'signal']);
const RECONNECT: RetryPolicy = { retries: Infinity, minDelayMs: 100, maxDelayMs: 5000, factor: 2 };

/**
 * Checks a handler and its options (a mistake throws an {@link InvalidArgumentError}) and fills in
 * the defaults.
 *
 * @example workSettings(handle, { concurrency: 4 }).limit // 1000: claims are bounded by the free slots
 */
export function workSettings(handler: WorkHandler, options: WorkOptions): WorkSettings {
  checkOptionNames(options, OPTION_NAMES, 'work option');
  if (typeof handler !== 'function') throw new InvalidArgumentError('work needs a handler function');
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer >= 1, not ${concurrency}`);
  checkLimit(options.limit);
  checkWait(options.wait);
  checkSeconds(options.lease, 'lease');
  return Object.freeze({
    concurrency,
    limit: options.limit ?? 1000,
    waitS: options.wait ?? 20,
    leaseS: options.lease,
    reconnect: retryPolicy(options.reconnect, RECONNECT),
    onError: options.onError,
  });
}
