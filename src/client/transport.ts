/**
 * What the API is written over: send a request, get the answer. The HTTP implementation (pool,
 * ping, retry, deadlines, error mapping) is `http-transport.ts`; API files know only this.
 */
import { ResponseError } from './errors.js';
import type { RetryPolicy } from './retry.js';

/** Per-call options shared by every method. */
export interface CallOptions {
  /** Cancels the call (and its retries); it then rejects with an {@link AbortedError}. */
  readonly signal?: AbortSignal;
  /** Overrides the client's retry policy for this call; `false` tries once. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Overrides the client's `timeout` for this call, in ms. */
  readonly timeout?: number;
}

/** One call to the server. */
export interface TransportRequest extends CallOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, starting with `/`. */
  readonly path: string;
  /** Parameters whose value is undefined are left out. */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** How long the server may hold the answer on purpose (a long-poll), in ms, on top of the deadline. */
  readonly holdMs?: number;
  /** Skip validating the connection first: for a call that is itself a health check. */
  readonly noPing?: boolean;
}

/** An event stream to open: one attempt, no deadline on the body, only on silence. */
export interface StreamRequest {
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** No bytes for this long, in ms, means the stream is dead. */
  readonly idleTimeoutMs: number;
}

/** An answer's body: read it whole, drop it, or iterate its chunks. */
export interface AnswerBody extends AsyncIterable<Uint8Array> {
  text(): Promise<string>;
  dump(): Promise<void>;
}

/** An answer with a status below 400 (error statuses reject with an {@link HttpError}). */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AnswerBody;
}

/**
 * Carries requests to one server. Errors are the client's typed errors: {@link HttpError} for an
 * error status, {@link ConnectionError}, {@link TimeoutError}, {@link AbortedError}.
 */
export interface Transport {
  /** The server's URL, without a trailing slash. */
  readonly baseUrl: string;
  /**
   * Sends `request`, retried as its policy says, and hands the answer to `read`. `read` consumes
   * the body inside the attempt, under its deadline, so a body cut off is retried like no answer.
   */
  request<T>(request: TransportRequest, read: (answer: Answer) => Promise<T>): Promise<T>;
  /** Opens a stream (one attempt) once its head arrived; errors while reading its body are mapped too. */
  stream(request: StreamRequest): Promise<Answer>;
  /** Refuses new requests at once; closes the connections once the requests in flight ended. Safe twice. */
  close(): Promise<void>;
}

/** The per-call options alone, out of an API method's options (which carry more). */
export function callOptions({ signal, retry, timeout }: CallOptions): CallOptions {
  return { signal, retry, timeout };
}

/** One header's value (the first, if repeated). */
export function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body as JSON, or a {@link ResponseError} saying what came instead. */
export async function readJson<T>(answer: Answer): Promise<T> {
  const text = await answer.body.text();
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ResponseError(`expected JSON, got ${header(answer, 'content-type')}: ${text.slice(0, 100)}`, error);
  }
}
