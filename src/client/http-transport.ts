/**
 * The HTTP transport: one keep-alive connection pool to one AtomMQ server, reused for every call,
 * with deadlines, cancellation and retries.
 *
 * `pingTimeout` decides when a pooled connection is validated with `GET /healthz` before it is used
 * again. A ping that fails retires the whole pool and the call goes out on a fresh connection, so a
 * connection broken while idle (a server restart behind a load balancer, a NAT that forgot it)
 * costs a ping, not a failed call.
 */
import { Pool, type Dispatcher } from 'undici';
import { AbortedError, HttpError, TimeoutError } from './errors.js';
import { retry, retryPolicy } from './retry.js';
import { httpError, mapError, type AttemptContext } from './transport-errors.js';
import { transportSettings, type AtomMQClientOptions, type TransportSettings } from './transport-options.js';
import { type Answer, type AnswerBody, type StreamRequest, type Transport, type TransportRequest } from './transport.js';

/** Counters, for tests and monitoring. */
export interface ClientStats {
  /** HTTP requests sent, pings included. */
  requests: number;
  /** Retries after failed attempts. */
  retries: number;
  /** Validating pings sent. */
  pings: number;
  /** Pings that failed and retired the pool. */
  failedPings: number;
  /** Pools retired and replaced by a fresh one. */
  poolsReplaced: number;
}

/** One attempt of a request: its own deadline and signal. */
interface Attempt extends Omit<TransportRequest, 'timeout' | 'retry' | 'holdMs'> {
  readonly timeoutMs: number;
  /** Bounds the silence between body chunks (streams); the deadline does otherwise. */
  readonly bodyIdleMs?: number;
}

/**
 * {@link Transport} over HTTP with undici.
 *
 * @example
 * const transport = new HttpTransport('http://localhost:8080', { pingTimeout: 5 });
 * const health = await transport.request({ method: 'GET', path: '/healthz' }, (answer) => answer.body.text());
 */
export class HttpTransport implements Transport {
  readonly baseUrl: string;
  private readonly settings: TransportSettings;
  private pool: Pool;
  /** When the last call got an answer: the moment the pool was last known to work. 0: never. */
  private lastUsedAt = 0;
  private pinging: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters: ClientStats = { requests: 0, retries: 0, pings: 0, failedPings: 0, poolsReplaced: 0 };

  constructor(baseUrl: string | URL, options: AtomMQClientOptions = {}) {
    this.settings = transportSettings(baseUrl, options);
    this.baseUrl = this.settings.origin + this.settings.basePath;
    this.pool = this.newPool();
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<ClientStats> {
    return { ...this.counters };
  }

  async request<T>(request: TransportRequest, read: (answer: Answer) => Promise<T>): Promise<T> {
    const { retryPolicy: defaults, timeoutMs } = this.settings;
    const policy = request.retry === false ? retryPolicy({ retries: 0 }) : request.retry ? retryPolicy(request.retry, defaults) : defaults;
    const attempt = { ...request, timeoutMs: (request.timeout ?? timeoutMs) + (request.holdMs ?? 0) };
    const url = this.baseUrl + request.path;
    return retry(() => this.attemptWithDeadline(attempt, url, read), {
      policy,
      signal: request.signal,
      onRetry: (event) => {
        this.counters.retries++;
        this.settings.onRetry?.({ ...event, method: request.method, url });
      },
    });
  }

  async stream(request: StreamRequest): Promise<Answer> {
    const attempt: Attempt = { ...request, method: 'GET', timeoutMs: this.settings.timeoutMs, bodyIdleMs: request.idleTimeoutMs };
    const answer = await this.attempt(attempt);
    const context = { ...attempt, url: this.baseUrl + request.path };
    const { body } = answer;
    const mapped: AnswerBody = {
      text: () => body.text(),
      dump: () => body.dump(),
      async *[Symbol.asyncIterator]() {
        try {
          for await (const chunk of body) yield chunk;
        } catch (error) {
          throw mapError(error, context);
        }
      },
    };
    return { ...answer, body: mapped };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // A ping in flight may still replace the pool: close the one that stays.
      await this.pinging;
      await this.pool.close();
    })();
    return this.closing;
  }

  /** One attempt under its deadline; `read` consumes the answer inside it. */
  private async attemptWithDeadline<T>(attempt: Attempt, url: string, read: (answer: Answer) => Promise<T>): Promise<T> {
    const { method, timeoutMs, signal: caller } = attempt;
    // One signal for the attempt, aborted by its deadline or by the caller's signal. (Not
    // AbortSignal.any: each call would leave a reference behind on the caller's signal, which
    // lives as long as a subscription, and Node never drops it: nodejs/node#64476.)
    const aborter = new AbortController();
    const { signal } = aborter;
    const timer = setTimeout(() => aborter.abort(new TimeoutError(`${method} ${url}: no answer within ${timeoutMs} ms`, timeoutMs)), timeoutMs);
    const forward = (): void => aborter.abort(caller?.reason);
    if (caller?.aborted) forward();
    else caller?.addEventListener('abort', forward, { once: true });
    try {
      const answer = await this.attempt({ ...attempt, signal });
      try {
        return await read(answer);
      } catch (error) {
        throw mapError(error, { method, url, signal, timeoutMs });
      }
    } catch (error) {
      // The caller's abort wins over our own deadline, which wins over what undici made of it.
      if (caller?.aborted) throw new AbortedError(`${method} ${url}: aborted`, caller.reason);
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', forward);
    }
  }

  /**
   * One HTTP request on the pool, after validating it if the ping rule says so. Resolves with the
   * answer once its head arrived; an error status is turned into an {@link HttpError} here.
   */
  private async attempt(attempt: Attempt): Promise<Answer> {
    const context: AttemptContext = { ...attempt, url: this.baseUrl + attempt.path };
    this.refuseIfClosed(context);
    if (!attempt.noPing) await this.validate();
    // undici hands a connection back to its pool one event-loop turn after a response completed
    // (setImmediate: it waits to see whether the server closes it). Waiting that turn here lets a
    // call made right after another reuse that connection, and so the connection a ping has just
    // validated, instead of opening a second one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.refuseIfClosed(context);
    this.counters.requests++;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request(this.dispatchOptions(attempt));
    } catch (error) {
      throw mapError(error, context);
    }
    this.lastUsedAt = Date.now();
    const answer: Answer = { status: response.statusCode, headers: response.headers, body: response.body };
    if (answer.status >= 400) throw await httpError(answer, attempt.method, context.url);
    return answer;
  }

  private refuseIfClosed({ method, url }: AttemptContext): void {
    if (this.closing) throw new AbortedError(`${method} ${url}: the client is closed`);
  }

  private dispatchOptions(attempt: Attempt): Dispatcher.RequestOptions {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(attempt.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const search = query.size > 0 ? `?${query}` : '';
    const length = attempt.body !== undefined ? { 'content-length': String(Buffer.byteLength(attempt.body)) } : {};
    return {
      method: attempt.method,
      path: this.settings.basePath + attempt.path + search,
      headers: { ...this.settings.headers, ...attempt.headers, ...length },
      body: attempt.body ?? null,
      signal: attempt.signal ?? null,
      headersTimeout: attempt.timeoutMs,
      bodyTimeout: attempt.bodyIdleMs ?? attempt.timeoutMs,
    };
  }

  private newPool(): Pool {
    return new Pool(this.settings.origin, {
      connections: this.settings.connections,
      connect: { timeout: Math.min(this.settings.timeoutMs, 10_000) },
    });
  }

  /**
   * Retires the pool: its idle connections are closed, and calls still in flight on it finish there
   * (their own deadlines bound them); every new call goes to a fresh pool.
   */
  private replacePool(): void {
    const old = this.pool;
    this.pool = this.newPool();
    this.counters.poolsReplaced++;
    old.close().catch(() => undefined);
  }

  /** The ping rule; see {@link AtomMQClientOptions.pingTimeout}. */
  private needsPing(): boolean {
    const { pingTimeoutS } = this.settings;
    if (pingTimeoutS < 0) return false;
    if (pingTimeoutS === 0) return true;
    // Nothing was ever pooled: the call opens its own fresh connection.
    if (this.lastUsedAt === 0) return false;
    return Date.now() - this.lastUsedAt > pingTimeoutS * 1000;
  }

  /** Validates the pool before a call when the ping rule says so; concurrent callers share one ping. */
  private async validate(): Promise<void> {
    if (!this.needsPing()) return;
    this.pinging ??= (async () => {
      this.counters.pings++;
      const { pingDeadlineMs } = this.settings;
      try {
        const answer = await this.attempt({ method: 'GET', path: '/healthz', timeoutMs: pingDeadlineMs, signal: AbortSignal.timeout(pingDeadlineMs), noPing: true });
        await answer.body.text();
      } catch (error) {
        // An HTTP error status still came over a working connection, and a ping cut short by
        // close() says nothing; only silence or a broken connection says the pool is stale.
        if (error instanceof HttpError || this.closing) return;
        this.counters.failedPings++;
        this.replacePool();
      }
    })().finally(() => { this.pinging = undefined; });
    await this.pinging;
  }
}
