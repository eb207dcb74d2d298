/**
 * AtomMQClient: one keep-alive connection pool to one AtomMQ server, reused for every call.
 *
 * Connections are persistent in the way Apache::Backend::POE's are: `connect()` opens and validates
 * one up front (its `connect_on_init`), and `pingTimeout` decides when a pooled connection is
 * validated with `GET /healthz` before it is used again (its `setPingTimeOut`). A ping that fails
 * retires the whole pool and the call goes out on a fresh connection, so a connection broken while
 * idle (a server restart behind a load balancer, a NAT that forgot it) costs a ping, not a failed call.
 */
import { randomUUID } from 'node:crypto';
import { Pool, type Dispatcher } from 'undici';
import {
  AbortedError, AtomMQClientError, ConnectionError, HttpError, InvalidArgumentError, PublishBatchError,
  ResponseError, TimeoutError, type Problem,
} from './errors.js';
import { retry, retryPolicy, type RetryEvent, type RetryPolicy } from './retry.js';
import { Subscription, type Handler, type SubscribeOptions } from './subscription.js';
import type { Entry, FeedHead, FeedInfo, Health, LiveEntry, NewEntry, PublishResult, ReadResult } from './types.js';

/** Options of {@link AtomMQClient}. Every one is optional. */
export interface AtomMQClientOptions {
  /**
   * Deadline of each attempt of a call, in ms: connecting, sending and reading the whole answer.
   * A long-poll read gets its `wait` on top.
   * @defaultValue 10000
   */
  readonly timeout?: number;
  /**
   * When to validate a pooled connection with `GET /healthz` before using it, in seconds, with
   * Apache::Backend::POE's meaning: `0` validates before every call; a negative value never
   * validates; a positive value validates only when the client has been idle (no completed call)
   * for longer than that. Backend::POE defaults to 0; over HTTP that would double every round
   * trip, so the default here is 5 s, the keep-alive timeout of a Node.js server: a connection
   * idle longer than that is the one likely to have been closed under us.
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

/** Per-call options shared by every method. */
export interface CallOptions {
  /** Cancels the call (and its retries); it then rejects with an {@link AbortedError}. */
  readonly signal?: AbortSignal;
  /** Overrides the client's retry policy for this call; `false` tries once. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Overrides the client's `timeout` for this call, in ms. */
  readonly timeout?: number;
}

/** Options of {@link AtomMQClient.read}. */
export interface ReadOptions extends CallOptions {
  /** The cursor: entries with a seq greater than this, oldest first. A seq, or an entry's `atom:id`. @defaultValue 0 */
  readonly lastId?: number | string;
  /** Entries per page, 1 to 1000. @defaultValue the feed's pageSize (100) */
  readonly limit?: number;
  /** Long-poll: when nothing is newer than the cursor, wait up to this many seconds for something to be. @defaultValue 0 */
  readonly wait?: number;
}

/** Options of {@link AtomMQClient.publishAtom}. */
export interface PublishAtomOptions extends CallOptions {
  /** As {@link NewEntry.idempotencyKey}. @defaultValue a fresh UUID */
  readonly idempotencyKey?: string;
  /** As {@link NewEntry.slug}. */
  readonly slug?: string;
}

/** Options of {@link AtomMQClient.publishBatch}. */
export interface PublishBatchOptions extends CallOptions {
  /**
   * Entries in flight at once. 1 publishes them one after the other, so their seqs follow the
   * batch's order; more is faster and gives up that order.
   * @defaultValue 1
   */
  readonly concurrency?: number;
}

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

/** What the subscription needs beyond the public API. @internal */
export interface EventStreamOptions {
  readonly signal: AbortSignal;
  /** No bytes (events or heartbeats) for this long means the stream is dead. */
  readonly idleTimeoutMs: number;
}

interface Call {
  readonly method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`. */
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Skip the validating ping (the ping itself, and connect()). */
  readonly noPing?: boolean;
}

type Body = Dispatcher.ResponseData['body'];

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Body;
}

/** DESIGN.md section 2: lowercase letters, digits, `-` and `_`, 1 to 64 characters. */
const FEED_NAME = /^[a-z0-9_-]{1,64}$/;
/** What the server accepts as an Idempotency-Key. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
/** Network failures that mean "no (complete) answer", worth trying again on a fresh connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function header(headers: Answer['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function checkFeed(feed: string): void {
  if (typeof feed !== 'string' || !FEED_NAME.test(feed)) {
    throw new InvalidArgumentError(`"${String(feed)}" is not a feed name (1-64 lowercase letters, digits, "-" or "_")`);
  }
}

function checkPositive(value: number | undefined, name: string, min = 1): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= min)) throw new InvalidArgumentError(`${name} must be a number >= ${min}, not ${value}`);
}

function checkCursor(lastId: number | string): void {
  const ok = typeof lastId === 'number' ? Number.isSafeInteger(lastId) && lastId >= 0 : typeof lastId === 'string' && /^urn:/i.test(lastId);
  if (!ok) throw new InvalidArgumentError(`lastId must be a seq (an integer >= 0) or an entry's atom:id, not ${JSON.stringify(lastId)}`);
}

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && Number.isSafeInteger((value as Entry).seq) && typeof (value as Entry).id === 'string';
}

/**
 * A client of one AtomMQ server.
 *
 * @example
 * const client = new AtomMQClient('http://localhost:8080', { pingTimeout: 5 });
 * await client.connect();
 * const { seq } = await client.publish('orders', { title: 'order 42', content: { orderId: 42 } });
 * const page = await client.read('orders', { lastId: 0, limit: 100 });
 * await client.close();
 */
export class AtomMQClient {
  /** The server's URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly pingTimeoutS: number;
  private readonly pingDeadlineMs: number;
  private readonly connections: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly defaultHeaders: Record<string, string>;
  private readonly onRetry: AtomMQClientOptions['onRetry'];
  private pool: Pool;
  /** When the last call got an answer: the moment the pool was last known to work. 0: never. */
  private lastUsedAt = 0;
  private pinging: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private readonly counters: ClientStats = { requests: 0, retries: 0, pings: 0, failedPings: 0, poolsReplaced: 0 };

  constructor(baseUrl: string | URL, options: AtomMQClientOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!OPTION_NAMES.has(key)) throw new InvalidArgumentError(`unknown option "${key}"; expected one of ${[...OPTION_NAMES].join(', ')}`);
    }
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new InvalidArgumentError(`"${String(baseUrl)}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${url.href}" is not an http(s) URL`);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.baseUrl = this.origin + this.basePath;
    checkPositive(options.timeout, 'timeout');
    checkPositive(options.pingDeadline, 'pingDeadline');
    checkPositive(options.connections, 'connections');
    if (options.pingTimeout !== undefined && !Number.isFinite(options.pingTimeout)) {
      throw new InvalidArgumentError(`pingTimeout must be a number of seconds (0: always, < 0: never), not ${options.pingTimeout}`);
    }
    this.timeoutMs = options.timeout ?? 10_000;
    this.pingTimeoutS = options.pingTimeout ?? 5;
    this.pingDeadlineMs = options.pingDeadline ?? Math.min(2000, this.timeoutMs);
    this.connections = Math.floor(options.connections ?? 8);
    this.retryPolicy = retryPolicy(options.retry);
    this.onRetry = options.onRetry;
    this.defaultHeaders = {
      'user-agent': 'atommq-client/0.1',
      ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    };
    this.pool = this.newPool();
  }

  /** A snapshot of the client's counters. */
  get stats(): Readonly<ClientStats> {
    return { ...this.counters };
  }

  /**
   * Opens a connection and validates it with `GET /healthz` (Backend::POE's `connect_on_init`), so a
   * wrong URL or a server that is down fails at start-up rather than at the first message.
   * Connection errors are retried with the client's retry policy.
   *
   * @example await new AtomMQClient(url).connect() // { status: 'ok', feeds: 3, consumers: 0 }
   */
  async connect(options: CallOptions = {}): Promise<Health> {
    return this.call({ method: 'GET', path: '/healthz', timeoutMs: options.timeout ?? this.timeoutMs, signal: options.signal, noPing: true },
      options, (answer) => this.json<Health>(answer));
  }

  /** One `GET /healthz`, no retries: whether the server and its database answer right now. */
  async ping(options: Omit<CallOptions, 'retry'> = {}): Promise<Health> {
    return this.connect({ ...options, retry: false });
  }

  /**
   * Publishes one entry. It carries an idempotency key (the entry's `idempotencyKey`, else its `id`,
   * else a fresh UUID), so retrying after a timeout or a 5xx can never store it twice: the server
   * answers a known key with the entry it already has (`created: false`).
   *
   * @example const { seq, location } = await client.publish('orders', { title: 'order 42', content: { orderId: 42 } });
   */
  async publish(feed: string, entry: NewEntry, options: CallOptions = {}): Promise<PublishResult> {
    checkFeed(feed);
    return this.publishWithKey(feed, jsonBody(entry), idempotencyKeyOf(entry), options);
  }

  /**
   * Publishes an Atom entry document (`<entry xmlns="http://www.w3.org/2005/Atom">…`) as it is,
   * as an AtomPub client POSTs one: its title, content, categories and extensions are the entry's.
   * The idempotency key is `options.idempotencyKey`, else a fresh UUID (retries are safe; running
   * the same publish again is not, without a key of your own).
   *
   * @example await client.publishAtom('orders', readFileSync('order.xml', 'utf8'), { idempotencyKey: 'order-43' });
   */
  async publishAtom(feed: string, xml: string, options: PublishAtomOptions = {}): Promise<PublishResult> {
    checkFeed(feed);
    const key = idempotencyKeyOf({ idempotencyKey: options.idempotencyKey });
    return this.publishWithKey(feed, { type: 'application/atom+xml;type=entry', text: xml, slug: options.slug }, key, options);
  }

  /**
   * Publishes several entries, each with its own idempotency key, one after the other by default
   * (their seqs then follow the batch's order). Fails with a {@link PublishBatchError} that says
   * which entries were stored; calling again with the same entries and the error's
   * `idempotencyKeys` stores nothing twice.
   *
   * @example const results = await client.publishBatch('orders', [{ title: 'a' }, { title: 'b' }]);
   */
  async publishBatch(feed: string, entries: readonly NewEntry[], options: PublishBatchOptions = {}): Promise<PublishResult[]> {
    checkFeed(feed);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer >= 1, not ${concurrency}`);
    const keys = entries.map(idempotencyKeyOf);
    const results: Array<PublishResult | undefined> = new Array(entries.length).fill(undefined);
    const state: { next: number; failure?: { index: number; error: unknown } } = { next: 0 };
    const worker = async (): Promise<void> => {
      while (state.failure === undefined && state.next < entries.length) {
        const index = state.next++;
        try {
          results[index] = await this.publishWithKey(feed, jsonBody(entries[index] as NewEntry), keys[index], options);
        } catch (error) {
          // Another worker may have failed meanwhile; the batch reports the earliest failed entry.
          const earlier = state.failure as { index: number } | undefined;
          if (earlier === undefined || index < earlier.index) state.failure = { index, error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    const { failure } = state;
    if (failure) throw new PublishBatchError(failure.index, results, keys.map((k) => k ?? ''), failure.error);
    return results as PublishResult[];
  }

  /**
   * Reads one page of the cursor view: entries with a seq greater than `lastId`, oldest first. With
   * `wait`, an empty page is held by the server until something is published (long-poll).
   *
   * @example
   * let lastId = 0;
   * const page = await client.read('orders', { lastId, limit: 100, wait: 20 });
   * for (const entry of page.entries) handle(entry);
   * lastId = page.lastId;
   */
  async read(feed: string, options: ReadOptions = {}): Promise<ReadResult> {
    checkFeed(feed);
    const lastId = options.lastId ?? 0;
    checkCursor(lastId);
    if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit >= 1 && options.limit <= 1000)) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to 1000, not ${options.limit}`);
    }
    if (options.wait !== undefined && !(Number.isFinite(options.wait) && options.wait >= 0)) {
      throw new InvalidArgumentError(`wait must be a number of seconds >= 0, not ${options.wait}`);
    }
    const wait = options.wait ?? 0;
    const call: Call = {
      method: 'GET',
      path: `/feeds/${feed}`,
      query: { format: 'json', limit: options.limit, wait: wait > 0 ? wait : undefined },
      headers: { xlastid: String(lastId), accept: 'application/json' },
      timeoutMs: (options.timeout ?? this.timeoutMs) + wait * 1000,
      signal: options.signal,
    };
    return this.call(call, options, async (answer) => {
      const page = await this.json<{ feed: FeedHead; entries: unknown; lastid: number; next: string | null }>(answer);
      if (!Array.isArray(page.entries) || !page.entries.every(isEntry)) throw new ResponseError(`GET ${this.baseUrl}${call.path}: the page has no valid entries array`);
      const lastIdHeader = Number(header(answer.headers, 'xlastid'));
      return {
        feed: page.feed,
        entries: page.entries as Entry[],
        lastId: Number.isSafeInteger(lastIdHeader) ? lastIdHeader : page.lastid,
        hasMore: page.next !== null && page.next !== undefined,
      };
    });
  }

  /** The newest seq of a feed (0 when it is empty): where a reader starts to see only new messages. */
  async latestId(feed: string, options: CallOptions = {}): Promise<number> {
    checkFeed(feed);
    return this.call({
      method: 'GET', path: `/feeds/${feed}`, query: { format: 'json', limit: 1 }, headers: { accept: 'application/json' },
      timeoutMs: options.timeout ?? this.timeoutMs, signal: options.signal,
    }, options, async (answer) => {
      await answer.body.dump();
      const seq = Number(header(answer.headers, 'xlastid'));
      if (!Number.isSafeInteger(seq)) throw new ResponseError(`GET ${this.baseUrl}/feeds/${feed}: no Xlastid header`);
      return seq;
    });
  }

  /**
   * The feeds the server serves, from its AtomPub service document (`GET /`).
   *
   * @example (await client.feeds()).map((f) => f.name) // ['orders', 'audit']
   */
  async feeds(options: CallOptions = {}): Promise<FeedInfo[]> {
    return this.call({
      method: 'GET', path: '/', headers: { accept: 'application/atomsvc+xml' }, timeoutMs: options.timeout ?? this.timeoutMs, signal: options.signal,
    }, options, async (answer) => {
      const xml = await answer.body.text();
      // Loaded on first use: most clients never list feeds, and the XML parser costs start-up time.
      const { parseServiceDocument } = await import('./service-document.js');
      return parseServiceDocument(xml, `${this.baseUrl}/`);
    });
  }

  /**
   * Calls `handler(entry)` for every entry of the feed after the stored cursor, in seq order, and
   * saves each entry's seq to `cursorStore` only after the handler resolved (at-least-once). See
   * {@link SubscribeOptions} and {@link Subscription}.
   *
   * @example
   * const sub = client.subscribe('orders', async (entry) => { await ship(entry) },
   *   { cursorStore: new FileCursorStore('orders.cursor') });
   * process.once('SIGTERM', () => sub.stop());
   * await sub.done;
   */
  subscribe(feed: string, handler: Handler, options: SubscribeOptions = {}): Subscription {
    checkFeed(feed);
    if (this.closing) throw new InvalidArgumentError('the client is closed');
    const subscription = new Subscription(this, feed, handler, options);
    this.subscriptions.add(subscription);
    void subscription.ended.then(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** Stops every subscription (each after its current handler), then closes the pool. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      await this.pool.close();
    })();
    return this.closing;
  }

  /**
   * Opens the feed's server-sent-event stream from `lastId` and returns its body. @internal
   * The subscription reads it; errors while reading are mapped by {@link mapError}.
   */
  async openEventStream(feed: string, lastId: number, options: EventStreamOptions): Promise<AsyncIterable<Uint8Array>> {
    checkFeed(feed);
    const call: Call = {
      method: 'GET',
      path: `/feeds/${feed}`,
      query: { format: 'json', lastid: lastId },
      // The cursor goes as `lastid`, not `Last-Event-ID`: AtomMQ reads the latter as an EventSource
      // reconnecting, which a round-robin feed ignores (live messages only), whereas an explicit
      // cursor there is refused (400). A subscription must never quietly lose its backlog.
      headers: { accept: 'text/event-stream', xlastid: String(lastId) },
      timeoutMs: this.timeoutMs,
      signal: options.signal,
    };
    const answer = await this.attempt(call, options.idleTimeoutMs);
    const type = header(answer.headers, 'content-type') ?? '';
    if (!type.startsWith('text/event-stream')) {
      await answer.body.dump().catch(() => undefined);
      throw new ResponseError(`GET ${this.baseUrl}${call.path}: the server answered ${type || 'without a Content-Type'} to Accept: text/event-stream; ` +
        "it does not stream this feed (use transport 'longpoll')");
    }
    const url = this.baseUrl + call.path;
    const map = (error: unknown): unknown => this.mapError(error, call, url);
    return (async function* mapped() {
      try {
        for await (const chunk of answer.body) yield chunk as Uint8Array;
      } catch (error) {
        throw map(error);
      }
    })();
  }

  /** Turns whatever undici or a stream threw into one of the client's errors. @internal */
  mapError(error: unknown, call: Pick<Call, 'method' | 'signal' | 'timeoutMs'>, url: string): unknown {
    if (error instanceof AtomMQClientError) return error;
    if (call.signal?.aborted) return new AbortedError(`${call.method} ${url}: aborted`, call.signal.reason);
    const code = (error as { code?: string } | null)?.code;
    if (code !== undefined && TIMEOUT_CODES.has(code)) return new TimeoutError(`${call.method} ${url}: ${(error as Error).message}`, call.timeoutMs);
    // HTTPParserError: the response was cut off mid-way (a chunked body that ends at EOF), which is
    // what a server that dies while streaming looks like.
    const name = (error as Error)?.name;
    if ((code !== undefined && CONNECTION_CODES.has(code)) || (error as Error)?.message === 'aborted' || name === 'SocketError' || name === 'HTTPParserError') {
      const why = name === 'HTTPParserError' ? `the connection closed mid-answer (${(error as Error).message})` : (error as Error).message || code;
      return new ConnectionError(`${call.method} ${url}: ${why}`, error);
    }
    return error;
  }

  private newPool(): Pool {
    return new Pool(this.origin, {
      connections: this.connections,
      connect: { timeout: Math.min(this.timeoutMs, 10_000) },
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

  /** Backend::POE's ping rule; see {@link AtomMQClientOptions.pingTimeout}. */
  private needsPing(): boolean {
    if (this.pingTimeoutS < 0) return false;
    if (this.pingTimeoutS === 0) return true;
    // Nothing was ever pooled: the call opens its own fresh connection.
    if (this.lastUsedAt === 0) return false;
    return Date.now() - this.lastUsedAt > this.pingTimeoutS * 1000;
  }

  /** Validates the pool before a call when the ping rule says so; concurrent callers share one ping. */
  private async validate(): Promise<void> {
    if (!this.needsPing()) return;
    this.pinging ??= (async () => {
      this.counters.pings++;
      const deadline = AbortSignal.timeout(this.pingDeadlineMs);
      try {
        const answer = await this.attempt({ method: 'GET', path: '/healthz', timeoutMs: this.pingDeadlineMs, signal: deadline, noPing: true });
        await answer.body.text();
      } catch (error) {
        // An HTTP error status still came over a working connection; only silence or a broken
        // connection says the pool is stale.
        if (error instanceof HttpError) return;
        this.counters.failedPings++;
        this.replacePool();
      }
    })().finally(() => { this.pinging = undefined; });
    await this.pinging;
  }

  /** Runs a call with retries; `read` consumes the answer inside the attempt, under its deadline. */
  private async call<T>(call: Call, options: CallOptions, read: (answer: Answer) => Promise<T>): Promise<T> {
    const policy = options.retry === false ? retryPolicy({ retries: 0 }) : options.retry ? retryPolicy(options.retry, this.retryPolicy) : this.retryPolicy;
    const url = this.baseUrl + call.path;
    return retry(async () => {
      // One signal for the attempt, aborted by its deadline or by the caller's signal. (Not
      // AbortSignal.any: each call would leave a reference behind on the caller's signal, which
      // lives as long as a subscription, and Node never drops it: nodejs/node#64476.)
      const aborter = new AbortController();
      const { signal } = aborter;
      const timer = setTimeout(() => aborter.abort(new TimeoutError(`${call.method} ${url}: no answer within ${call.timeoutMs} ms`, call.timeoutMs)), call.timeoutMs);
      const forward = (): void => aborter.abort(call.signal?.reason);
      if (call.signal?.aborted) forward();
      else call.signal?.addEventListener('abort', forward, { once: true });
      try {
        const answer = await this.attempt({ ...call, signal });
        try {
          return await read(answer);
        } catch (error) {
          throw this.mapError(error, { ...call, signal }, url);
        }
      } catch (error) {
        // The caller's abort wins over our own deadline, which wins over what undici made of it.
        if (call.signal?.aborted) throw new AbortedError(`${call.method} ${url}: aborted`, call.signal.reason);
        if (signal.aborted) throw signal.reason;
        throw error;
      } finally {
        clearTimeout(timer);
        call.signal?.removeEventListener('abort', forward);
      }
    }, {
      policy,
      signal: call.signal,
      onRetry: (event) => {
        this.counters.retries++;
        this.onRetry?.({ ...event, method: call.method, url });
      },
    });
  }

  /**
   * One HTTP request on the pool, after validating it if the ping rule says so. Resolves with the
   * answer once its head arrived; an error status is turned into an {@link HttpError} here.
   * `bodyIdleMs` bounds the silence between body chunks (streams), else the call's deadline does.
   */
  private async attempt(call: Call, bodyIdleMs?: number): Promise<Answer> {
    if (this.closing) throw new AbortedError(`${call.method} ${this.baseUrl}${call.path}: the client is closed`);
    if (!call.noPing) await this.validate();
    // undici hands a connection back to its pool one event-loop turn after a response completed
    // (setImmediate: it waits to see whether the server closes it). Waiting that turn here lets a
    // call made right after another reuse that connection, and so the connection a ping has just
    // validated, instead of opening a second one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const url = this.baseUrl + call.path;
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const search = query.size > 0 ? `?${query}` : '';
    this.counters.requests++;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({
        method: call.method,
        path: this.basePath + call.path + search,
        headers: { ...this.defaultHeaders, ...call.headers, ...(call.body !== undefined ? { 'content-length': String(Buffer.byteLength(call.body)) } : {}) },
        body: call.body ?? null,
        signal: call.signal ?? null,
        headersTimeout: call.timeoutMs,
        bodyTimeout: bodyIdleMs ?? call.timeoutMs,
      });
    } catch (error) {
      throw this.mapError(error, call, url);
    }
    this.lastUsedAt = Date.now();
    const answer: Answer = { status: response.statusCode, headers: response.headers, body: response.body };
    if (answer.status >= 400) throw await this.httpError(answer, call.method, url);
    return answer;
  }

  private async httpError(answer: Answer, method: string, url: string): Promise<HttpError> {
    let problem: Problem | undefined;
    try {
      const text = await answer.body.text();
      if (/json/.test(header(answer.headers, 'content-type') ?? '')) problem = JSON.parse(text) as Problem;
    } catch {
      // A body we cannot read or parse: the status alone says what happened.
    }
    return new HttpError(answer.status, method, url, problem, retryAfterMs(header(answer.headers, 'retry-after')));
  }

  private async json<T>(answer: Answer): Promise<T> {
    const text = await answer.body.text();
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new ResponseError(`expected JSON, got ${header(answer.headers, 'content-type')}: ${text.slice(0, 100)}`, error);
    }
  }

  /** POSTs one entry's body; the answer is asked for as JSON whatever the body's type. */
  private async publishWithKey(feed: string, body: EntryBody,
    key: string | undefined, options: CallOptions): Promise<PublishResult> {
    const headers: Record<string, string> = { 'content-type': body.type, accept: 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = key;
    if (body.slug !== undefined) headers.slug = encodeURIComponent(body.slug);
    const call: Call = {
      method: 'POST', path: `/feeds/${feed}`, headers, body: body.text,
      timeoutMs: options.timeout ?? this.timeoutMs, signal: options.signal,
    };
    return this.call(call, options, async (answer) => {
      const stored = await this.json<LiveEntry>(answer);
      if (!isEntry(stored)) throw new ResponseError(`POST ${this.baseUrl}${call.path}: the answer is not an entry`);
      return {
        seq: stored.seq,
        id: stored.id,
        key: stored.key,
        location: header(answer.headers, 'location') ?? `${this.baseUrl}/feeds/${feed}/entries/${stored.key}`,
        created: answer.status === 201,
        entry: stored,
      };
    });
  }
}

/** What a publish POSTs. */
interface EntryBody {
  readonly type: string;
  readonly text: string;
  readonly slug: string | undefined;
}

/** A NewEntry as the JSON body the server reads; the key and the slug travel as headers. */
function jsonBody(entry: NewEntry): EntryBody {
  const { idempotencyKey: _key, slug, ...fields } = entry;
  return { type: 'application/json', text: JSON.stringify(fields), slug };
}

/**
 * The key a publish sends: the caller's, else the entry's own atom:id (the server would use it
 * anyway), else a fresh UUID. Undefined when the atom:id cannot travel in a header: the server then
 * recognises retries by the atom:id in the body.
 */
function idempotencyKeyOf(entry: NewEntry): string | undefined {
  if (entry.idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(entry.idempotencyKey)) throw new InvalidArgumentError('idempotencyKey must be 1 to 255 printable ASCII characters');
    return entry.idempotencyKey;
  }
  if (entry.id !== undefined) return IDEMPOTENCY_KEY.test(entry.id) ? entry.id : undefined;
  return randomUUID();
}
