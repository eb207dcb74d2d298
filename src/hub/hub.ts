import type { StoredEntry } from '../store/store.js';
import type { CloseReason, DeliveryPolicy, DeliveryState, HubLogger, HubOptions, Registration, Sender } from './delivery.js';
import { RoundRobin, type ParkedLimits } from './round-robin.js';

interface Consumer {
  readonly id: string;
  readonly registration: Registration;
  readonly sender: Sender;
  /** Changed only by `retune`. */
  delivery: DeliveryPolicy;
}

/** The consumers of one feed. */
interface FeedConsumers {
  /** Watchers and broadcast consumers: each gets every change. */
  readonly everyone: Map<string, Consumer>;
  /**
   * `everyone` as an array, made at the first change after it changed: a change goes to a copy
   * (senders commonly unregister themselves: a long-poll answers once and leaves), and copying it
   * for every change cost more than delivering to a hundred streams.
   */
  delivering: readonly Consumer[] | undefined;
  readonly ring: RoundRobin<Consumer>;
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
  private readonly pausedOf: (feed: string) => boolean;
  private readonly parkedLimits: ParkedLimits;
  private closed = false;

  /** Takes options, or just a logger as jQluster::Server does. */
  constructor(options: HubOptions | HubLogger = {}) {
    const o = typeof options === 'function' ? { logger: options } : options;
    this.log = o.logger ?? (() => {});
    this.policyOf = o.policyOf ?? (() => 'broadcast');
    this.pausedOf = o.pausedOf ?? (() => false);
    this.parkedLimits = { count: o.maxParked ?? 1000, bytes: o.maxParkedBytes ?? 64 * 1024 * 1024 };
  }

  /**
   * Registers a consumer and answers the policy it is served under (a watcher is always
   * `broadcast`) until `retune` changes it. Throws when `id` is already registered (two consumers
   * sharing an id would steal each other's messages) or the hub is closed.
   * A round-robin consumer receives parked messages once it calls `resume(id)`.
   */
  register(id: string, registration: Registration, sender: Sender): DeliveryPolicy {
    if (this.closed) throw new Error('hub: closed');
    if (this.byId.has(id)) throw new Error(`hub: consumer "${id}" is already registered`);
    const delivery = registration.role === 'watcher' ? 'broadcast' : this.policyOf(registration.feed);
    const consumer: Consumer = { id, registration, sender, delivery };
    this.byId.set(id, consumer);
    const feed = this.feed(registration.feed);
    if (delivery === 'roundrobin') feed.ring.add(consumer);
    else this.setEveryone(feed, (everyone) => everyone.set(id, consumer));
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
      feed.ring.remove(consumer);
      this.setEveryone(feed, (everyone) => everyone.delete(id));
      this.forgetIfUnused(consumer.registration.feed, feed);
    }
    this.log('debug', `unregistered ${id}`);
  }

  /**
   * Hands a committed change to every watcher and broadcast consumer of its feed, and to one
   * round-robin consumer (or parks it until one can take it, or until delivery is resumed). A
   * change committed `elsewhere`, by another server on the same database, goes to that server's
   * round-robin consumers, not to these: each message reaches one round-robin consumer in all.
   */
  distribute(change: StoredEntry, elsewhere = false): void {
    if (this.closed) return;
    let feed = this.byFeed.get(change.feed);
    if (feed && feed.everyone.size > 0) {
      feed.delivering ??= [...feed.everyone.values()];
      for (const consumer of feed.delivering) this.deliver(consumer, change);
    }
    if (elsewhere) return;
    if (!feed?.ring.members.length && this.policyOf(change.feed) !== 'roundrobin' && !feed?.ring.parked) return;
    feed ??= this.feed(change.feed);
    feed.ring.offer(change, this.pausedOf(change.feed));
  }

  /** Whether delivery to the feed's consumers is paused now. */
  isPaused(feed: string): boolean {
    return this.pausedOf(feed);
  }

  /**
   * The feed's policy or pause changed: its consumers move to the policy it has now and are told
   * (`onRetune`), watchers too; once delivery is resumed, parked round-robin messages go out.
   */
  retune(name: string): void {
    const feed = this.byFeed.get(name);
    if (!feed) return;
    const state: DeliveryState = { delivery: this.policyOf(name), paused: this.pausedOf(name) };
    const all = [...feed.everyone.values(), ...feed.ring.members];
    for (const consumer of all) {
      if (consumer.registration.role === 'watcher' || consumer.delivery === state.delivery) continue;
      if (state.delivery === 'roundrobin') {
        this.setEveryone(feed, (everyone) => everyone.delete(consumer.id));
        feed.ring.add(consumer);
      } else {
        feed.ring.remove(consumer);
        this.setEveryone(feed, (everyone) => everyone.set(consumer.id, consumer));
      }
      consumer.delivery = state.delivery;
    }
    for (const consumer of all) {
      try {
        consumer.registration.onRetune?.(state);
      } catch (error) {
        this.log('error', `consumer ${consumer.id} failed to retune: ${(error as Error).message}`);
      }
    }
    if (!state.paused) feed.ring.drain();
    this.forgetIfUnused(name, feed);
  }

  /** A round-robin consumer that refused messages (busy) can take them again: parked ones come first. */
  resume(id: string): void {
    const consumer = this.byId.get(id);
    if (consumer?.delivery !== 'roundrobin') return;
    const name = consumer.registration.feed;
    const feed = this.byFeed.get(name);
    if (feed) {
      if (!this.pausedOf(name)) feed.ring.drain();
      this.forgetIfUnused(name, feed);
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
      if (feed.ring.parked) this.log('warn', `feed ${name}: ${feed.ring.parked} round-robin messages parked at shutdown were not delivered live (they stay in the feed)`);
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
    if (feed.ring.parked) this.log('warn', `feed ${name}: ${feed.ring.parked} round-robin messages parked when it was removed were not delivered live (they stay in the feed)`);
    const consumers = [...feed.everyone.values(), ...feed.ring.members];
    for (const consumer of consumers) this.byId.delete(consumer.id);
    this.tellClosed(consumers, 'feed-removed');
  }

  /**
   * Lets the feed's consumers go, telling each why (`onClose`), and drops its parked messages
   * (they stay in the feed); its watchers stay. For a queue that was emptied.
   */
  closeConsumers(name: string, why: CloseReason): void {
    const feed = this.byFeed.get(name);
    if (!feed) return;
    const consumers = [...feed.everyone.values(), ...feed.ring.members].filter((c) => c.registration.role !== 'watcher');
    feed.ring.clear();
    for (const consumer of consumers) this.unregister(consumer.id);
    this.tellClosed(consumers, why);
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
    return this.byFeed.get(feed)?.ring.parked ?? 0;
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
    if (!feed) {
      const ring = new RoundRobin<Consumer>(this.parkedLimits, (c, change) => this.deliver(c, change), (m) => this.log('warn', `feed ${name}: ${m}`));
      this.byFeed.set(name, (feed = { everyone: new Map(), delivering: undefined, ring }));
    }
    return feed;
  }

  private setEveryone(feed: FeedConsumers, change: (everyone: Map<string, Consumer>) => unknown): void {
    change(feed.everyone);
    feed.delivering = undefined;
  }

  private forgetIfUnused(name: string, feed: FeedConsumers): void {
    if (feed.everyone.size === 0 && feed.ring.members.length === 0 && feed.ring.parked === 0) this.byFeed.delete(name);
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
}
