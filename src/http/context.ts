import type { Logger } from 'pino';
import type { FeedConfig } from '../config/feed-config.js';
import type { ServerOptions } from '../config/server-options.js';
import type { Hub } from '../hub/hub.js';
import type { QueuePolicy } from '../store/queues.js';
import type { Store } from '../store/store.js';

/** The feeds being served, as the routers see them. */
export interface FeedCatalogue {
  get(name: string): FeedConfig | undefined;
  list(): FeedConfig[];
}

/** What the queue routes (RestMQ, QST, claims) need beyond reading the catalogue (DESIGN.md section 12). */
export interface QueueControl {
  /**
   * The feed of that name. Undefined when there is none yet but a queue of that name would be
   * created on first use; a 404 when the server creates none (`--auto-create false`), a 400 when
   * the name breaks the rules.
   */
  find(name: string): FeedConfig | undefined;
  /** The same, creating the queue when there is none yet. */
  ensure(name: string): Promise<FeedConfig>;
  /** Whether delivery to the queue's consumers is stopped. */
  stopped(name: string): boolean;
  /** Stored, then the hub is told, so that live consumers follow. */
  setPolicy(name: string, policy: QueuePolicy): Promise<void>;
  setStopped(name: string, stopped: boolean): Promise<void>;
}

/** Everything the HTTP layer depends on, passed in rather than imported, so tests can build their own. */
export interface AppContext {
  readonly options: ServerOptions;
  readonly feeds: FeedCatalogue;
  readonly queues: QueueControl;
  readonly storeFor: (feed: FeedConfig) => Store;
  readonly hub: Hub;
  readonly logger: Logger;
  /** Aborted when the server starts shutting down: held requests answer at once, new ones get 503. */
  readonly shutdown: AbortSignal;
  /** atom:updated of a feed with no entries yet. */
  readonly startedAt: string;
}
