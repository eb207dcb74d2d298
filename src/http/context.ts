import type { Request } from 'express';
import type { Logger } from 'pino';
import type { AccessControl } from '../access/access-control.js';
import { AtomMQError } from '../errors/index.js';
import type { ClientLimits } from './client-limits.js';
import type { FeedConfig } from '../config/feed-config.js';
import type { ServerOptions } from '../config/server-options.js';
import type { Hub } from '../hub/hub.js';
import type { QueuePolicy } from '../store/queues.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './ops/metrics-registry.js';

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
  /** Who may do what (the access file); undefined when the server is open to all. */
  readonly access?: AccessControl | undefined;
  /** Connection and stream caps per client address; undefined: none (an app a test builds on its own). */
  readonly clients?: ClientLimits | undefined;
  readonly logger: Logger;
  /** Aborted when the server starts shutting down: held requests answer at once, new ones get 503. */
  readonly shutdown: AbortSignal;
  /** atom:updated of a feed with no entries yet. */
  readonly startedAt: string;
  /** Where access lines go (`--access-log`): false, nowhere. @defaultValue `logger` */
  readonly accessLogger?: Logger | false | undefined;
  /** The server's metrics (GET /metrics); an app built without them counts nothing. */
  readonly metrics?: Metrics | undefined;
}

/** The feed of that name, or a 404 naming it. */
export function feedNamed(ctx: AppContext, name: unknown): FeedConfig {
  const feed = typeof name === 'string' ? ctx.feeds.get(name) : undefined;
  if (!feed) throw new AtomMQError('FEED_NOT_FOUND', `no feed named "${String(name)}"; GET / lists the feeds`);
  return feed;
}

/** The feed a route's `:name` names, or a 404 naming it. */
export function requireFeed(ctx: AppContext, req: Pick<Request, 'params'>): FeedConfig {
  return feedNamed(ctx, req.params.name);
}

/**
 * Refuses a request once shutdown has started (503, and the connection is not kept), whatever
 * carries it: the app refuses every request with it, the WebSocket upgrade also once its handshake
 * has been read, as shutdown may have started while it was.
 */
export function refuseWhileShuttingDown(ctx: Pick<AppContext, 'shutdown'>): void {
  if (!ctx.shutdown.aborted) return;
  throw new AtomMQError('SHUTTING_DOWN', 'the server is shutting down; retry against another instance or after restart', {
    headers: { 'Retry-After': '1', Connection: 'close' },
  });
}
