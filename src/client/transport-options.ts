/**
 * The client's options, checked once and merged with their defaults into the settings the HTTP
 * transport runs with.
 */
import { checkOptionNames, checkPositive } from './checks.js';
import { InvalidArgumentError } from './errors.js';
import { retryPolicy, type RetryEvent, type RetryPolicy } from './retry.js';

/** Options of {@link AtomMQClient}. Every one is optional. */
export interface AtomMQClientOptions {
  /**
   * Deadline of each attempt of a call, in ms: connecting, sending and reading the whole answer.
   * A long-poll read gets its `wait` on top.
   * @defaultValue 10000
   */
  readonly timeout?: number;
  /**
   * When to validate a pooled connection with `GET /healthz` before using it, in seconds: `0`
   * validates before every call; a negative value never validates; a positive value validates only
   * when the client has been idle (no completed call) for longer than that. Validating before
   * every call would double every round trip, so the default is 5 s, the keep-alive timeout of a
   * Node.js server: a connection idle longer than that is the one likely to have been closed under us.
   * @defaultValue 5
   */
  readonly pingTimeout?: number;
  /** Deadline of a validating ping, in ms. A connection that does not answer within it is replaced. @defaultValue 2000 */
  readonly pingDeadline?: number;
  /** Keep-alive connections the pool may open to the server. @defaultValue 8 */
  readonly connections?: number;
  /**
   * Retries of a call after a 5xx, a connection error or a timeout (never after a 4xx), with
   * exponential backoff and jitter. `{ retries: 0 }` turns them off.
   * @defaultValue { retries: 5, minDelayMs: 100, maxDelayMs: 5000, factor: 2 }
   */
  readonly retry?: Partial<RetryPolicy>;
  /** Sent as `Authorization: Bearer <token>` on every request. */
  readonly token?: string;
  /** Extra headers sent on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Told before each retry of a call (for logging). */
  readonly onRetry?: (event: RetryEvent & { readonly method: string; readonly url: string }) => void;
}

const OPTION_NAMES = new Set(['timeout', 'pingTimeout', 'pingDeadline', 'connections', 'retry', 'token', 'headers', 'onRetry']);

/** The options with their defaults, checked. */
export interface TransportSettings {
  /** Scheme, host and port: what the pool connects to. */
  readonly origin: string;
  /** The path prefix of every request, without a trailing slash (often empty). */
  readonly basePath: string;
  readonly timeoutMs: number;
  readonly pingTimeoutS: number;
  readonly pingDeadlineMs: number;
  readonly connections: number;
  readonly retryPolicy: RetryPolicy;
  readonly headers: Readonly<Record<string, string>>;
  readonly onRetry: AtomMQClientOptions['onRetry'];
}

function parseBaseUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InvalidArgumentError(`"${String(baseUrl)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${url.href}" is not an http(s) URL`);
  return url;
}

/**
 * The Authorization header: `token` as Bearer, or the URL's `user:password@` as Basic (which
 * undici would not send by itself). The URL's credentials go no further: the base URL, which
 * errors quote, is rebuilt without them.
 */
function authorizationOf(url: URL, token: string | undefined): string | undefined {
  const basic = url.username !== '' || url.password !== '';
  if (basic && token !== undefined) throw new InvalidArgumentError('give either a token or credentials in the URL (user:password@), not both');
  if (token !== undefined) return `Bearer ${token}`;
  if (!basic) return undefined;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

/**
 * Checks the options (an unknown name or a nonsense value throws an {@link InvalidArgumentError})
 * and fills in the defaults.
 *
 * @example transportSettings('http://localhost:8080/', {}).timeoutMs // 10000
 */
export function transportSettings(baseUrl: string | URL, options: AtomMQClientOptions): TransportSettings {
  checkOptionNames(options, OPTION_NAMES, 'option');
  const url = parseBaseUrl(baseUrl);
  checkPositive(options.timeout, 'timeout');
  checkPositive(options.pingDeadline, 'pingDeadline');
  checkPositive(options.connections, 'connections');
  if (options.pingTimeout !== undefined && !Number.isFinite(options.pingTimeout)) {
    throw new InvalidArgumentError(`pingTimeout must be a number of seconds (0: always, < 0: never), not ${options.pingTimeout}`);
  }
  const timeoutMs = options.timeout ?? 10_000;
  const authorization = authorizationOf(url, options.token);
  return Object.freeze({
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    timeoutMs,
    pingTimeoutS: options.pingTimeout ?? 5,
    pingDeadlineMs: options.pingDeadline ?? Math.min(2000, timeoutMs),
    connections: Math.floor(options.connections ?? 8),
    retryPolicy: retryPolicy(options.retry),
    onRetry: options.onRetry,
    headers: Object.freeze({
      'user-agent': 'atommq-client/0.1',
      ...(authorization !== undefined ? { authorization } : {}),
      ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    }),
  });
}
