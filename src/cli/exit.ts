/**
 * Exit codes and error reporting of the command line. Kept apart from the client so that
 * `atommq serve` does not load the HTTP client to report its own errors.
 */
import {
  AtomMQClientError, ConnectionError, GapError, HandlerError, HttpError, InvalidArgumentError, ResponseError, TimeoutError,
} from '../client/errors.js';

/**
 * Exit codes scripts can rely on:
 * 0 done; 1 an unexpected failure (a bug, a cursor file that cannot be read); 2 bad usage (flags,
 * arguments, the server's configuration); 3 the server could not be reached (after retries);
 * 4 the server refused the request (4xx: unknown feed, invalid entry or cursor); 5 the server
 * failed (5xx after retries, or an answer the client cannot read); 6 the `--exec` command kept
 * failing past `--max-attempts`; 7 entries were lost before they were read (a gap left by the
 * server's retention, or a cursor ahead of the server's database).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, refused: 4, serverError: 5, commandFailed: 6, lost: 7 } as const;

/** A mistake in how the command was called: reported with a hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Maps an error to the exit code that says what kind of failure it was. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof InvalidArgumentError) return EXIT.usage;
  if (error instanceof HandlerError) return EXIT.commandFailed;
  if (error instanceof GapError) return EXIT.lost;
  if (error instanceof HttpError) return error.status >= 500 ? EXIT.serverError : EXIT.refused;
  if (error instanceof ConnectionError || error instanceof TimeoutError) return EXIT.unreachable;
  if (error instanceof ResponseError) return EXIT.serverError;
  // A cursor file that does not hold a seq, and anything unexpected.
  return EXIT.failure;
}

/** A one-line message for stderr: known errors by their message, bugs with their stack. */
export function describeError(error: unknown): string {
  if (error instanceof UsageError || error instanceof AtomMQClientError) {
    const code = error instanceof AtomMQClientError ? ` [${error.code}]` : '';
    return `${error.message}${code}`;
  }
  return (error as Error)?.stack ?? String(error);
}

