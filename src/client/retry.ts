/**
 * Exponential backoff with jitter, and a retry loop that only retries what can succeed on a retry.
 */
import { AbortedError, AtomMQClientError, HttpError } from './errors.js';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Attempts after the first one; `Infinity` retries until success or abort. @defaultValue 5 */
  readonly retries: number;
  /** Delay ceiling of the first retry, in ms. @defaultValue 100 */
  readonly minDelayMs: number;
  /** No delay is longer than this, in ms. @defaultValue 5000 */
  readonly maxDelayMs: number;
  /** The ceiling grows by this factor per attempt. @defaultValue 2 */
  readonly factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 5, minDelayMs: 100, maxDelayMs: 5000, factor: 2 });

/** Merges a partial policy over defaults, refusing nonsense so a typo cannot turn retries off silently. */
export function retryPolicy(partial: Partial<RetryPolicy> | undefined, defaults: RetryPolicy = DEFAULT_RETRY): RetryPolicy {
  const policy = { ...defaults, ...partial };
  for (const key of Object.keys(partial ?? {})) {
    if (!(key in DEFAULT_RETRY)) throw new TypeError(`unknown retry option "${key}"; expected retries, minDelayMs, maxDelayMs or factor`);
  }
  if (!(policy.retries >= 0)) throw new TypeError(`retry.retries must be >= 0 (or Infinity), not ${policy.retries}`);
  if (!(policy.minDelayMs >= 0 && policy.maxDelayMs >= policy.minDelayMs)) {
    throw new TypeError(`retry delays must satisfy 0 <= minDelayMs <= maxDelayMs, not ${policy.minDelayMs} and ${policy.maxDelayMs}`);
  }
  if (!(policy.factor >= 1)) throw new TypeError(`retry.factor must be >= 1, not ${policy.factor}`);
  return Object.freeze(policy);
}

/**
 * The delay before retry number `attempt` (0 for the first retry): "equal jitter", a random value
 * between half the ceiling and the ceiling, where the ceiling is `minDelayMs * factor^attempt`
 * capped at `maxDelayMs`. Half is random so that clients cut off together (a server restart) do
 * not come back in lockstep; half is fixed so the wait really grows while the server stays away.
 *
 * @example backoffDelay(3, DEFAULT_RETRY) // between 400 and 800
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** Math.min(attempt, 64));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The wait before retry number `attempt` after `error`: the backoff, or the server's `Retry-After` if longer (up to `maxDelayMs`). */
export function retryDelay(error: unknown, attempt: number, policy: RetryPolicy): number {
  const retryAfter = error instanceof HttpError ? error.retryAfterMs ?? 0 : 0;
  return Math.max(backoffDelay(attempt, policy), Math.min(retryAfter, policy.maxDelayMs));
}

/** Resolves after `ms`, or rejects with an AbortedError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error to throw for an aborted signal: its reason if that is already one of ours. */
export function abortReason(signal: AbortSignal): AtomMQClientError {
  const reason: unknown = signal.reason;
  return reason instanceof AtomMQClientError ? reason : new AbortedError('the call was aborted', reason);
}

/** What the retry loop reports before each wait. */
export interface RetryEvent {
  readonly error: unknown;
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Decides whether an error is worth another attempt. @defaultValue the error's own `retryable` */
  readonly retryable?: (error: unknown) => boolean;
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

export function isRetryable(error: unknown): boolean {
  return error instanceof AtomMQClientError && error.retryable;
}

/**
 * Calls `fn` until it succeeds, a non-retryable error comes up, the policy runs out or `signal`
 * fires. A server's `Retry-After` is honoured as the least delay.
 *
 * @example await retry(() => client.ping(), { policy: retryPolicy({ retries: 3 }) })
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (attempt >= options.policy.retries || !retryable(error)) throw error;
      const delayMs = retryDelay(error, attempt, options.policy);
      options.onRetry?.({ error, attempt: attempt + 1, delayMs });
      await sleep(delayMs, options.signal);
    }
  }
}
