import type { StoredEntry } from '../store/store.js';

/**
 * How a feed's messages reach its live consumers (feed file field `delivery`):
 * `broadcast`: every consumer gets every message; `roundrobin`: each message goes to exactly one
 * consumer, taking turns (RestMQ's policy).
 */
export type DeliveryPolicy = 'broadcast' | 'roundrobin';

/** What a consumer asked for when it registered. */
export interface Registration {
  readonly feed: string;
  /**
   * `consumer` (the default) receives messages under the feed's delivery policy as it stands when
   * it registers: every message of a broadcast feed, its share of a round-robin feed. A `watcher` is
   * told of every change whatever the policy: long-poll waiters, which then read the store.
   */
  readonly role?: 'consumer' | 'watcher';
  /**
   * Called once, after the consumer was unregistered, when the hub closes (`shutdown`) or its feed
   * is removed (`feed-removed`).
   */
  readonly onClose?: (why: CloseReason) => void;
}

export type CloseReason = 'shutdown' | 'feed-removed';

/**
 * Delivers one change to one consumer, over whatever transport that consumer uses. Returning
 * `false` (exactly) means "not taken": the consumer is busy or gone, and in a round-robin feed the
 * change goes to the next consumer. Any other result means taken. A sender that throws is dropped.
 */
export type Sender = (change: StoredEntry) => unknown;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type HubLogger = (level: LogLevel, message: string) => void;

export interface HubOptions {
  /** @defaultValue log nothing */
  readonly logger?: HubLogger;
  /** The current delivery policy of a feed. @defaultValue every feed is broadcast */
  readonly policyOf?: (feed: string) => DeliveryPolicy;
  /**
   * Round-robin messages that no consumer could take (none connected, or all busy) wait for the
   * next one, at most this many per feed; beyond it the oldest are dropped from live delivery
   * (they stay in the feed, for cursor readers). @defaultValue 1000
   */
  readonly maxParked?: number;
}

interface Consumer {
  readonly id: string;
  readonly registration: Registration;
  readonly sender: Sender;
  readonly delivery: DeliveryPolicy;
}

/** The consumers of one feed, and its round-robin state. */
interface FeedConsumers {
  /** Watchers and broadcast consumers: each gets every change. */
  readonly everyone: Map<string, Consumer>;
  /** Round-robin consumers, in registration order; `next` is whose turn it is. */
  readonly ring: Consumer[];
  next: number;
  /** Round-robin messages waiting for a consumer, oldest first. */
  readonly parked: StoredEntry[];
  /** Messages dropped from `parked` since it last emptied, logged once per episode. */
  dropped: number;
}

/**
 * Transport-independent delivery, in the shape of jQluster::Server: long-polls, streams and sockets
 * register a sender, the store's commits are distributed to them, and nothing here knows HTTP.
 *
 * @example
 * const hub = new Hub({ policyOf: (feed) => feeds.get(feed)?.delivery ?? 'broadcast' });
 * hub.register('sse:1', { feed: 'orders' }, (change) => res.write(frame(change)));
 * store.onCommit((changes) => changes.forEach((c) => hub.distribute(c)));
 */
export class Hub {
  private readonly byId = new Map<string, Consumer>();
  private readonly byFeed = new Map<string, FeedConsumers>();
  private readonly log: HubLogger;
  private readonly policyOf: (feed: string) => DeliveryPolicy;
  private readonly maxParked: number;
  private closed = false;

  /** Takes options, or just a logger as jQluster::Server does. */
  constructor(options: HubOptions | HubLogger = {}) {
    const o = typeof options === 'function' ? { logger: options } : options;
    this.log = o.logger ?? (() => {});
    this.policyOf = o.policyOf ?? (() => 'broadcast');
    this.maxParked = o.maxParked ?? 1000;
  }

  /**
   * Registers a consumer and answers the policy it is served under for as long as it stays
   * registered (a watcher is always `broadcast`). Throws when `id` is already registered (two
   * consumers sharing an id would steal each other's messages) or the hub is closed.
   * A round-robin consumer receives parked messages once it calls `resume(id)`.
   */
  register(id: string, registration: Registration, sender: Sender): DeliveryPolicy {
    if (this.closed) throw new Error('hub: closed');
    if (this.byId.has(id)) throw new Error(`hub: consumer "${id}" is already registered`);
    const delivery = registration.role === 'watcher' ? 'broadcast' : this.policyOf(registration.feed);
    const consumer: Consumer = { id, registration, sender, delivery };
    this.byId.set(id, consumer);
    const feed = this.feed(registration.feed);
    if (delivery === 'roundrobin') feed.ring.push(consumer);
    else feed.everyone.set(id, consumer);
    this.log('debug', `registered ${id} on ${registration.feed} (${registration.role ?? 'consumer'}, ${delivery})`);
    return delivery;
  }

  /** A no-op for an unknown id, so transports can unregister on every close path without bookkeeping. */
  unregister(id: string): void {
    const consumer = this.byId.get(id);
    if (!consumer) return;
    this.byId.delete(id);
    const feed = this.byFeed.get(consumer.registration.feed);
    if (feed) {
      const index = feed.ring.indexOf(consumer);
      if (index >= 0) {
        feed.ring.splice(index, 1);
        if (index < feed.next) feed.next--;
      }
      feed.everyone.delete(id);
      this.forgetIfUnused(consumer.registration.feed, feed);
    }
    this.log('debug', `unregistered ${id}`);
  }

  /**
   * Hands a committed change to every watcher and broadcast consumer of its feed, and to one
   * round-robin consumer (or parks it until one can take it).
   */
  distribute(change: StoredEntry): void {
    if (this.closed) return;
    let feed = this.byFeed.get(change.feed);
    if (feed && feed.everyone.size > 0) {
      // A copy: senders commonly unregister themselves (a long-poll answers once and leaves).
      for (const consumer of [...feed.everyone.values()]) this.deliver(consumer, change);
    }
    if (!feed?.ring.length && this.policyOf(change.feed) !== 'roundrobin' && !feed?.parked.length) return;
    feed ??= this.feed(change.feed);
    if (feed.parked.length === 0 && this.dispatch(feed, change)) return;
    // Behind parked messages, so that each consumer sees its messages in seq order.
    this.park(change.feed, feed, change);
    this.drain(feed);
  }

  /** A round-robin consumer that refused messages (busy) can take them again: parked ones come first. */
  resume(id: string): void {
    const consumer = this.byId.get(id);
    if (consumer?.delivery !== 'roundrobin') return;
    const feed = this.byFeed.get(consumer.registration.feed);
    if (feed) {
      this.drain(feed);
      this.forgetIfUnused(consumer.registration.feed, feed);
    }
  }

  /**
   * Unregisters every consumer and calls its `onClose`; later registrations throw and changes are
   * no longer distributed. For shutdown, once the last writes have been distributed.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [name, feed] of this.byFeed) {
      if (feed.parked.length) this.log('warn', `feed ${name}: ${feed.parked.length} round-robin messages parked at shutdown were not delivered live (they stay in the feed)`);
    }
    const consumers = [...this.byId.values()];
    this.byId.clear();
    this.byFeed.clear();
    this.tellClosed(consumers, 'shutdown');
  }

  /**
   * A feed is no longer served: unregisters its consumers and calls their `onClose`, and drops its
   * parked round-robin messages (they stay in the feed). Consumers may register for it again later.
   */
  closeFeed(name: string): void {
    const feed = this.byFeed.get(name);
    if (!feed) return;
    this.byFeed.delete(name);
    if (feed.parked.length) this.log('warn', `feed ${name}: ${feed.parked.length} round-robin messages parked when it was removed were not delivered live (they stay in the feed)`);
    const consumers = [...feed.everyone.values(), ...feed.ring];
    for (const consumer of consumers) this.byId.delete(consumer.id);
    this.tellClosed(consumers, 'feed-removed');
  }

  /** How many consumers are registered, for /healthz and tests. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Registered consumers by the kind their id names before its first colon (`sse`, `ws`, `comet`,
   * `long-poll`), for the metrics.
   */
  countByKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of this.byId.keys()) {
      const kind = id.slice(0, Math.max(0, id.indexOf(':')));
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return counts;
  }

  /** How many round-robin messages of a feed wait for a consumer. */
  parked(feed: string): number {
    return this.byFeed.get(feed)?.parked.length ?? 0;
  }

  private tellClosed(consumers: readonly Consumer[], why: CloseReason): void {
    for (const consumer of consumers) {
      try {
        consumer.registration.onClose?.(why);
      } catch (error) {
        this.log('error', `consumer ${consumer.id} failed to close: ${(error as Error).message}`);
      }
    }
  }

  private feed(name: string): FeedConsumers {
    let feed = this.byFeed.get(name);
    if (!feed) this.byFeed.set(name, (feed = { everyone: new Map(), ring: [], next: 0, parked: [], dropped: 0 }));
    return feed;
  }

  private forgetIfUnused(name: string, feed: FeedConsumers): void {
    if (feed.everyone.size === 0 && feed.ring.length === 0 && feed.parked.length === 0) this.byFeed.delete(name);
  }

  /** True when the consumer took the change. */
  private deliver(consumer: Consumer, change: StoredEntry): boolean {
    try {
      return consumer.sender(change) !== false;
    } catch (error) {
      this.log('error', `consumer ${consumer.id} failed and was dropped: ${(error as Error).message}`);
      this.unregister(consumer.id);
      return false;
    }
  }

  /** Offers a change to the round-robin consumers, starting with the one whose turn it is. */
  private dispatch(feed: FeedConsumers, change: StoredEntry): boolean {
    for (let tries = feed.ring.length; tries > 0 && feed.ring.length > 0; tries--) {
      const index = feed.next % feed.ring.length;
      const consumer = feed.ring[index] as Consumer;
      feed.next = index + 1;
      if (this.deliver(consumer, change)) return true;
    }
    return false;
  }

  private park(name: string, feed: FeedConsumers, change: StoredEntry): void {
    feed.parked.push(change);
    if (feed.parked.length <= this.maxParked) return;
    feed.parked.shift();
    if (feed.dropped++ === 0) {
      this.log('warn', `feed ${name}: more than ${this.maxParked} round-robin messages wait for a consumer; the oldest are dropped from live delivery (they stay in the feed)`);
    }
  }

  /** Hands parked messages out, oldest first, until none is left or no consumer takes one. */
  private drain(feed: FeedConsumers): void {
    while (feed.parked.length > 0 && this.dispatch(feed, feed.parked[0] as StoredEntry)) feed.parked.shift();
    if (feed.parked.length === 0) feed.dropped = 0;
  }
}
