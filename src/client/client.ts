/**
 * AtomMQClient: the API of one AtomMQ server, written over one {@link HttpTransport} (a keep-alive
 * connection pool reused for every call, with pings, deadlines and retries). Each family of calls
 * lives in its own module over the {@link Transport} interface; this class gathers them.
 */
import { checkFeed, checkGroup } from './checks.js';
import { InvalidArgumentError } from './errors.js';
import { TransportFeedReader, type ReadOptions } from './feed-reader.js';
import type { ClaimedMessage, GroupStatus, ReceiptOutcome } from './group-types.js';
import { GroupApi, type ClaimOptions, type ExtendOptions, type NackOptions } from './groups.js';
import { HttpTransport, type ClientStats } from './http-transport.js';
import { Publisher, type PublishAtomOptions, type PublishBatchOptions } from './publisher.js';
import { QstApi, type QstMessage, type QstPullOptions, type QstPushResult } from './qst.js';
import type { Handler, SubscribeOptions } from './subscribe-options.js';
import { Subscription } from './subscription.js';
import type { AtomMQClientOptions } from './transport-options.js';
import { callOptions, readJson, type CallOptions } from './transport.js';
import type { FeedInfo, Health, NewEntry, PublishResult, ReadResult } from './types.js';
import type { WorkHandler, WorkOptions } from './work-options.js';
import { Worker } from './worker.js';

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
  private readonly transport: HttpTransport;
  private readonly reader: TransportFeedReader;
  private readonly publisher: Publisher;
  private readonly groupApi: GroupApi;
  private readonly qst: QstApi;
  private closing: Promise<void> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private readonly workers = new Set<Worker>();

  constructor(baseUrl: string | URL, options: AtomMQClientOptions = {}) {
    this.transport = new HttpTransport(baseUrl, options);
    this.baseUrl = this.transport.baseUrl;
    this.reader = new TransportFeedReader(this.transport);
    this.publisher = new Publisher(this.transport);
    this.groupApi = new GroupApi(this.transport);
    this.qst = new QstApi(this.transport);
  }

  /** A snapshot of the client's counters. */
  get stats(): Readonly<ClientStats> {
    return this.transport.stats;
  }

  /**
   * Opens a connection and validates it with `GET /healthz`, so a wrong URL or a server that is
   * down fails at start-up rather than at the first message. Connection errors are retried with
   * the client's retry policy.
   *
   * @example await new AtomMQClient(url).connect() // { status: 'ok', feeds: 3, consumers: 0 }
   */
  async connect(options: CallOptions = {}): Promise<Health> {
    return this.transport.request({ method: 'GET', path: '/healthz', noPing: true, ...callOptions(options) }, (answer) => readJson<Health>(answer));
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
  publish(feed: string, entry: NewEntry, options: CallOptions = {}): Promise<PublishResult> {
    return this.publisher.publish(feed, entry, options);
  }

  /**
   * Publishes an Atom entry document (`<entry xmlns="http://www.w3.org/2005/Atom">…`) as it is,
   * as an AtomPub client POSTs one: its title, content, categories and extensions are the entry's.
   * The idempotency key is `options.idempotencyKey`, else a fresh UUID (retries are safe; running
   * the same publish again is not, without a key of your own).
   *
   * @example await client.publishAtom('orders', readFileSync('order.xml', 'utf8'), { idempotencyKey: 'order-43' });
   */
  publishAtom(feed: string, xml: string, options: PublishAtomOptions = {}): Promise<PublishResult> {
    return this.publisher.publishAtom(feed, xml, options);
  }

  /**
   * Publishes several entries, each with its own idempotency key, one after the other by default
   * (their seqs then follow the batch's order). Fails with a {@link PublishBatchError} that says
   * which entries were stored; calling again with the same entries and the error's
   * `idempotencyKeys` stores nothing twice.
   *
   * @example const results = await client.publishBatch('orders', [{ title: 'a' }, { title: 'b' }]);
   */
  publishBatch(feed: string, entries: readonly NewEntry[], options: PublishBatchOptions = {}): Promise<PublishResult[]> {
    return this.publisher.publishBatch(feed, entries, options);
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
  read(feed: string, options: ReadOptions = {}): Promise<ReadResult> {
    return this.reader.read(feed, options);
  }

  /**
   * The newest seq of a feed (0 when it is empty): where a reader starts to see only new messages.
   *
   * @example const from = await client.latestId('orders');
   */
  latestId(feed: string, options: CallOptions = {}): Promise<number> {
    return this.reader.latestId(feed, options);
  }

  /**
   * One entry as an Atom XML document (its member resource, `GET /feeds/<feed>/entries/<key>`), as
   * it is now; an `HttpError` with code `ENTRY_GONE` once it was deleted.
   *
   * @example const xml = await client.entryXml('orders', message.key);
   */
  entryXml(feed: string, key: string, options: CallOptions = {}): Promise<string> {
    return this.reader.entryXml(feed, key, options);
  }

  /**
   * The feeds the server serves, from its AtomPub service document (`GET /`).
   *
   * @example (await client.feeds()).map((f) => f.name) // ['orders', 'audit']
   */
  async feeds(options: CallOptions = {}): Promise<FeedInfo[]> {
    const request = { method: 'GET', path: '/', headers: { accept: 'application/atomsvc+xml' }, ...callOptions(options) } as const;
    return this.transport.request(request, async (answer) => {
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
    const subscription = new Subscription(this.reader, feed, handler, options);
    this.subscriptions.add(subscription);
    void subscription.ended.then(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /**
   * Claims up to `limit` messages of a consumer group (created by its first claim), each leased to
   * this call for `lease` seconds: ack, nack or extend them by `receipt` before it ends, or they go
   * back to the group. With `wait`, an empty answer is held until something is available.
   *
   * @example const [message] = await client.claim('orders', 'billing', { wait: 20 });
   */
  claim(feed: string, group: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    return this.groupApi.claim(feed, group, options);
  }

  /**
   * Acks claimed messages by receipt: they are done with. Repeating an ack is harmless. Each
   * receipt is handled on its own; a refusal throws a {@link ReceiptError} (a
   * {@link LeaseLostError} when the message was claimed again meanwhile) with every outcome.
   *
   * @example await client.ack('orders', 'billing', [message.receipt]);
   */
  ack(feed: string, group: string, receipts: readonly string[], options: CallOptions = {}): Promise<ReceiptOutcome[]> {
    return this.groupApi.ack(feed, group, receipts, options);
  }

  /**
   * Hands claimed messages back for redelivery after `delay` seconds (by default 1 s doubling with
   * each delivery); past the group's maxDeliveries they are dead-lettered, with `reason`.
   *
   * @example await client.nack('orders', 'billing', [message.receipt], { reason: 'warehouse down' });
   */
  nack(feed: string, group: string, receipts: readonly string[], options: NackOptions = {}): Promise<ReceiptOutcome[]> {
    return this.groupApi.nack(feed, group, receipts, options);
  }

  /**
   * Extends the leases of claimed messages to `lease` seconds from now (by default the group's).
   *
   * @example const [{ leaseExpires }] = await client.extend('orders', 'billing', [message.receipt], { lease: 60 });
   */
  extend(feed: string, group: string, receipts: readonly string[], options: ExtendOptions = {}): Promise<ReceiptOutcome[]> {
    return this.groupApi.extend(feed, group, receipts, options);
  }

  /**
   * The status of every consumer group of a feed.
   *
   * @example (await client.groups('orders')).map((g) => `${g.group}: ${g.lag} behind`)
   */
  groups(feed: string, options: CallOptions = {}): Promise<GroupStatus[]> {
    return this.groupApi.groups(feed, options);
  }

  /**
   * One consumer group's status; an `HttpError` with code `GROUP_NOT_FOUND` when there is none.
   *
   * @example const { pending, lag, dead } = await client.group('orders', 'billing');
   */
  group(feed: string, group: string, options: CallOptions = {}): Promise<GroupStatus> {
    return this.groupApi.group(feed, group, options);
  }

  /**
   * Pushes a batch to `/qst/<feed>`, all or nothing; retries store nothing twice (see {@link QstApi.push}).
   *
   * @example await client.qstPush('sms', [{ id: 'm-1', from: 'sms://838383', body: 'hi', priority: 2 }]);
   */
  qstPush(feed: string, messages: readonly QstMessage[], options: CallOptions = {}): Promise<QstPushResult> {
    return this.qst.push(feed, messages, options);
  }

  /**
   * Pulls `/qst/<feed>` page by page; asking for the next page acknowledges the last (see {@link QstApi.pull}).
   *
   * @example for await (const page of client.qstPull('sms', { signal })) for (const m of page) await deliver(m);
   */
  qstPull(feed: string, options: QstPullOptions = {}): AsyncGenerator<QstMessage[]> {
    return this.qst.pull(feed, options);
  }

  /**
   * Works a consumer group: claims as many messages as `concurrency` leaves free slots, calls
   * `handler(message)` on each, acks it when the handler resolves and nacks it (the error's message
   * as reason) when it throws, extending the lease of a handler still running at half its lease.
   * See {@link WorkOptions} and {@link Worker}.
   *
   * @example
   * const worker = client.work('orders', 'billing', async (message) => { await bill(message.content) }, { concurrency: 4 });
   * process.once('SIGTERM', () => worker.stop());
   * await worker.done;
   */
  work(feed: string, group: string, handler: WorkHandler, options: WorkOptions = {}): Worker {
    checkFeed(feed);
    checkGroup(group);
    if (this.closing) throw new InvalidArgumentError('the client is closed');
    const worker = new Worker(this.groupApi, feed, group, handler, options);
    this.workers.add(worker);
    void worker.ended.then(() => this.workers.delete(worker));
    return worker;
  }

  /**
   * Stops every worker (each after its running handlers, whose messages are then acked or
   * nacked), refuses new calls, stops every subscription (each after its current handler) and
   * closes the connections. Safe to call twice.
   *
   * @example process.once('SIGTERM', () => client.close());
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Workers first: their last acks still need the connections.
      await Promise.all([...this.workers].map((w) => w.stop()));
      const closed = this.transport.close();
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      await closed;
    })();
    return this.closing;
  }
}
