import type { StoredEntry } from '../store/store.js';

/** What a consumer asked for when it registered. */
export interface Registration {
  readonly feed: string;
}

/** Delivers one change to one consumer, over whatever transport that consumer uses. */
export type Sender = (change: StoredEntry) => void;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type HubLogger = (level: LogLevel, message: string) => void;

interface Consumer {
  readonly registration: Registration;
  readonly sender: Sender;
}

/**
 * Transport-independent delivery, in the shape of jQluster::Server: long-polls, streams and sockets
 * register a sender, the store's commits are distributed to them, and nothing here knows HTTP.
 */
export class Hub {
  private readonly byId = new Map<string, Consumer>();
  private readonly byFeed = new Map<string, Map<string, Consumer>>();

  constructor(private readonly log: HubLogger = () => {}) {}

  /** Throws when `id` is already registered: two consumers sharing an id would steal each other's messages. */
  register(id: string, registration: Registration, sender: Sender): void {
    if (this.byId.has(id)) throw new Error(`hub: consumer "${id}" is already registered`);
    const consumer = { registration, sender };
    this.byId.set(id, consumer);
    let feed = this.byFeed.get(registration.feed);
    if (!feed) this.byFeed.set(registration.feed, (feed = new Map()));
    feed.set(id, consumer);
    this.log('debug', `registered ${id} on ${registration.feed}`);
  }

  /** A no-op for an unknown id, so transports can unregister on every close path without bookkeeping. */
  unregister(id: string): void {
    const consumer = this.byId.get(id);
    if (!consumer) return;
    this.byId.delete(id);
    const feed = this.byFeed.get(consumer.registration.feed);
    feed?.delete(id);
    if (feed?.size === 0) this.byFeed.delete(consumer.registration.feed);
    this.log('debug', `unregistered ${id}`);
  }

  /** Hands a committed change to every consumer of its feed. */
  distribute(change: StoredEntry): void {
    const consumers = this.byFeed.get(change.feed);
    if (!consumers) return;
    // A copy: senders commonly unregister themselves (a long-poll answers once and leaves).
    for (const [id, consumer] of [...consumers]) {
      try {
        consumer.sender(change);
      } catch (error) {
        this.log('error', `consumer ${id} failed and was dropped: ${(error as Error).message}`);
        this.unregister(id);
      }
    }
  }

  /** How many consumers are registered, for /healthz and tests. */
  get size(): number {
    return this.byId.size;
  }
}
