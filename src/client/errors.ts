import type { ReceiptOutcome } from './group-types.js';
import type { PublishResult } from './types.js';

/**
 * Typed errors of the AtomMQ client. Every error has a stable `code` and says whether retrying can
 * help (`retryable`): callers branch on the class or the code, never on the message.
 *
 * - {@link HttpError}: the server answered with a status >= 400. `code` is the server's own
 *   problem+json code (`FEED_NOT_FOUND`, `INVALID_CURSOR`, …) or `HTTP_<status>` when the answer
 *   came from something else (a proxy). Retryable when the status is 5xx, never when it is 4xx.
 * - {@link ConnectionError}: no answer at all (refused, reset, closed mid-response). Retryable.
 * - {@link TimeoutError}: the call's deadline passed. Retryable.
 * - {@link AbortedError}: the caller's signal (or `stop()`) cancelled the call. Not retryable.
 * - {@link ResponseError}: the server answered 2xx with something the client cannot read.
 * - {@link CursorStoreError}: a cursor file that cannot be read back as a seq.
 * - {@link HandlerError}: a subscription handler kept failing past its retry budget.
 * - {@link GapError}: a subscription lost entries it never saw (retention, or a replaced database).
 * - {@link ReceiptError}: an ack, nack or extension refused for some of its receipts;
 *   {@link LeaseLostError} when a lease was lost (`LEASE_LOST`).
 */

/** Codes the client itself assigns; server errors carry the server's problem code instead. */
export type ClientErrorCode =
  | 'CONNECTION_FAILED'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BAD_RESPONSE'
  | 'INVALID_ARGUMENT'
  | 'CURSOR_CORRUPT'
  | 'HANDLER_FAILED'
  | 'BATCH_FAILED'
  | 'GAP';

/** Base class of every error the client throws. */
export class AtomMQClientError extends Error {
  override readonly name: string = 'AtomMQClientError';
  /** Whether the same call may succeed if tried again. */
  readonly retryable: boolean;

  constructor(readonly code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** An RFC 9457 problem document, as AtomMQ answers every error. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly instance?: string;
  /** Members a problem type adds (`results` of a refused ack, say). */
  readonly [member: string]: unknown;
}

/**
 * The server answered with an error status. 4xx is never retried (the same request would be
 * refused again); 5xx is, and a `Retry-After` header sets the least delay before the next try.
 *
 * @example
 * try { await client.read('nope') } catch (e) { if (e instanceof HttpError && e.code === 'FEED_NOT_FOUND') … }
 */
export class HttpError extends AtomMQClientError {
  override readonly name: string = 'HttpError';
  readonly status: number;
  /** The problem document's `title` and `detail`, when the server sent one. */
  readonly title: string | undefined;
  readonly detail: string | undefined;
  /** Milliseconds from a `Retry-After` header, if any. */
  readonly retryAfterMs: number | undefined;
  /** The whole problem document, when the server sent one. */
  readonly problem: Problem | undefined;

  constructor(status: number, method: string, url: string, problem: Problem | undefined, retryAfterMs?: number) {
    const code = typeof problem?.code === 'string' ? problem.code : `HTTP_${status}`;
    const why = problem?.detail ?? problem?.title ?? `HTTP ${status}`;
    super(code, `${method} ${url}: ${status} ${why}`, { retryable: status >= 500 });
    this.status = status;
    this.title = problem?.title;
    this.detail = problem?.detail;
    this.retryAfterMs = retryAfterMs;
    this.problem = problem;
  }
}

/**
 * 401: the server knows no principal by the credentials given (a bad token or password), or none
 * were given and the request needs some. Give `token`, or `http://user:password@host` as the URL.
 */
export class UnauthorizedError extends HttpError {
  override readonly name: string = 'UnauthorizedError';
}

/** 403: the credentials are good, but their principal has no grant for this (the access file's `grants`). */
export class ForbiddenError extends HttpError {
  override readonly name: string = 'ForbiddenError';
}

/** The server could not be reached, or the connection broke before a complete answer. */
export class ConnectionError extends AtomMQClientError {
  override readonly name = 'ConnectionError';
  constructor(message: string, cause?: unknown) {
    super('CONNECTION_FAILED', message, { cause, retryable: true });
  }
}

/** The call's deadline passed before a complete answer. */
export class TimeoutError extends AtomMQClientError {
  override readonly name = 'TimeoutError';
  constructor(message: string, readonly timeoutMs: number) {
    super('TIMEOUT', message, { retryable: true });
  }
}

/** The caller cancelled: its AbortSignal fired, or a subscription was stopped. */
export class AbortedError extends AtomMQClientError {
  override readonly name = 'AbortedError';
  constructor(message = 'the call was aborted', cause?: unknown) {
    super('ABORTED', message, { cause });
  }
}

/** A successful status with a body or headers the client cannot make sense of. */
export class ResponseError extends AtomMQClientError {
  override readonly name = 'ResponseError';
  constructor(message: string, cause?: unknown) {
    super('BAD_RESPONSE', message, { cause });
  }
}

/** A cursor file whose content is not a seq. Starting over from 0 or from the end would be a guess. */
export class CursorStoreError extends AtomMQClientError {
  override readonly name = 'CursorStoreError';
  constructor(message: string, readonly path: string, cause?: unknown) {
    super('CURSOR_CORRUPT', message, { cause });
  }
}

/**
 * A subscription handler kept failing on one entry beyond `handlerRetry.retries`. The cursor was
 * left before that entry, so nothing was skipped: a restarted subscription retries it.
 */
export class HandlerError extends AtomMQClientError {
  override readonly name = 'HandlerError';
  constructor(readonly seq: number, readonly attempts: number, cause: unknown) {
    super('HANDLER_FAILED', `the handler failed ${attempts} time(s) on seq ${seq}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * A subscription lost entries it never saw, and stopped (`onGap: 'error'`) before its cursor moved
 * past them. `GAP`: retention removed seqs `from` to `to` before they were read. `CURSOR_AHEAD`:
 * the cursor is beyond every seq the server's database ever assigned (it was replaced or restored
 * from an older copy): `from` is the server's newest seq + 1, `to` the cursor, and whatever the
 * database assigns in between would be skipped. To go on, save a cursor of your choosing in the
 * cursor store (`to` for a gap, the newest seq for a cursor ahead), or subscribe with `onGap: 'continue'`.
 */
export class GapError extends AtomMQClientError {
  override readonly name = 'GapError';
  constructor(readonly feed: string, readonly from: number, readonly to: number, code: 'GAP' | 'CURSOR_AHEAD', cause?: unknown) {
    super(code, code === 'GAP'
      ? `feed "${feed}": retention removed seqs ${from} to ${to} before this subscription read them`
      : `feed "${feed}": the cursor ${to} is ahead of the server's database, whose newest seq is ${from - 1} (replaced or restored from an older copy?)`, { cause });
  }
}

/** Thrown when an argument is wrong before anything is sent (a bad feed name, an unknown option). */
export class InvalidArgumentError extends AtomMQClientError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/**
 * `publishBatch` stopped at entry `index`: `published` holds the results of the entries before it
 * (all of them when the batch is ordered). Publishing the rest again with the same idempotency keys
 * (`idempotencyKeys`) cannot duplicate anything.
 */
export class PublishBatchError extends AtomMQClientError {
  override readonly name = 'PublishBatchError';
  constructor(
    readonly index: number,
    readonly published: ReadonlyArray<PublishResult | undefined>,
    readonly idempotencyKeys: readonly string[],
    cause: unknown,
  ) {
    super('BATCH_FAILED', `publishing entry ${index} of the batch failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * An ack, nack or extension refused for at least one of its receipts. The server handles each
 * receipt on its own, so those that succeeded were applied: `results` says what became of every
 * one. `status` and `code` are the first refused receipt's (400 `RECEIPT_INVALID`: not a receipt
 * of this group).
 */
export class ReceiptError extends HttpError {
  override readonly name: string = 'ReceiptError';
  constructor(error: HttpError, method: string, url: string, readonly results: readonly ReceiptOutcome[]) {
    super(error.status, method, url, error.problem, error.retryAfterMs);
  }
}

/**
 * `LEASE_LOST` (409): a receipt's lease ended and its message was claimed again, so this delivery
 * may no longer ack, nack or extend it; the other claim's consumer will handle it.
 *
 * @example
 * try { await client.ack('orders', 'billing', [receipt]) } catch (e) { if (e instanceof LeaseLostError) log(e.results) }
 */
export class LeaseLostError extends ReceiptError {
  override readonly name = 'LeaseLostError';
}
