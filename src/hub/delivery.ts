/** What a live consumer registers with the hub, and what the hub tells it: the hub's contract with transports. */
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
  /**
   * Called when the feed's delivery changed while registered (see `retune`): its policy, which
   * the hub now serves this consumer under, or whether delivery to consumers is paused.
   */
  readonly onRetune?: (state: DeliveryState) => void;
}

/** How a feed's messages reach its consumers at the moment. */
export interface DeliveryState {
  readonly delivery: DeliveryPolicy;
  /** Consumers get nothing while paused; round-robin messages wait (are parked) for the resume. */
  readonly paused: boolean;
}

/** `purged`: the feed's queue was emptied, and its live consumers are let go (watchers stay). */
export type CloseReason = 'shutdown' | 'feed-removed' | 'purged';

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
  /** Whether delivery to a feed's consumers is paused. @defaultValue never */
  readonly pausedOf?: (feed: string) => boolean;
  /**
   * Round-robin messages that no consumer could take (none connected, or all busy) wait for the
   * next one, at most this many per feed; beyond it the oldest are dropped from live delivery
   * (they stay in the feed, for cursor readers). @defaultValue 1000
   */
  readonly maxParked?: number;
  /**
   * The same bound in characters of the parked messages' stored forms: a thousand entries of a
   * megabyte each would otherwise hold gigabytes. The newest message is parked whatever its size.
   * @defaultValue 64 MiB
   */
  readonly maxParkedBytes?: number;
}
