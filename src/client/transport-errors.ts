/**
 * Turning what undici, a stream or the server said into the client's typed errors: the one place
 * that decides what is a timeout, a broken connection or a refusal, and so what is retried.
 */
import { AbortedError, AtomMQClientError, ConnectionError, ForbiddenError, HttpError, TimeoutError, UnauthorizedError, type Problem } from './errors.js';
import { header, type Answer } from './transport.js';

/** Network failures that mean "no (complete) answer", worth trying again on a fresh connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The attempt an error happened in, as error messages name it. */
export interface AttemptContext {
  readonly method: string;
  readonly url: string;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs: number;
}

/** Turns whatever undici or a stream threw into one of the client's errors (others pass unchanged). */
export function mapError(error: unknown, attempt: AttemptContext): unknown {
  if (error instanceof AtomMQClientError) return error;
  const { method, url, signal } = attempt;
  if (signal?.aborted) return new AbortedError(`${method} ${url}: aborted`, signal.reason);
  const code = (error as { code?: string } | null)?.code;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return new TimeoutError(`${method} ${url}: ${(error as Error).message}`, attempt.timeoutMs);
  // HTTPParserError: the response was cut off mid-way (a chunked body that ends at EOF), which is
  // what a server that dies while streaming looks like.
  const name = (error as Error)?.name;
  if ((code !== undefined && CONNECTION_CODES.has(code)) || (error as Error)?.message === 'aborted' || name === 'SocketError' || name === 'HTTPParserError') {
    const why = name === 'HTTPParserError' ? `the connection closed mid-answer (${(error as Error).message})` : (error as Error).message || code;
    return new ConnectionError(`${method} ${url}: ${why}`, error);
  }
  return error;
}

/** A `Retry-After` header (seconds or an HTTP date) in ms. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The {@link HttpError} for an error status, with the server's problem document when it sent one. */
export async function httpError(answer: Answer, method: string, url: string): Promise<HttpError> {
  let problem: Problem | undefined;
  try {
    const text = await answer.body.text();
    if (/json/.test(header(answer, 'content-type') ?? '')) problem = JSON.parse(text) as Problem;
  } catch {
    // A body we cannot read or parse: the status alone says what happened.
  }
  const Kind = answer.status === 401 ? UnauthorizedError : answer.status === 403 ? ForbiddenError : HttpError;
  return new Kind(answer.status, method, url, problem, retryAfterMs(header(answer, 'retry-after')));
}
