import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { describeDsn, type Dsn } from '../config/dsn.js';
import { FeedDirectory } from '../config/feed-directory.js';
import type { ServerOptions } from '../config/server-options.js';
import { ConfigError } from '../errors/index.js';
import { createApp } from '../http/app.js';
import { ClientLimits } from '../http/client-limits.js';
import type { AppContext } from '../http/context.js';
import { Metrics } from '../http/ops/metrics-registry.js';
import type { LogLevel } from '../hub/delivery.js';
import { Hub } from '../hub/hub.js';
import { createAccessLogger } from '../logging.js';
import { declareGroups } from '../store/declare-groups.js';
import { storeFactory } from '../store/store-factory.js';
import { StoreSet } from '../store/store-set.js';
import { startAccess, warnIfOpen } from './access.js';
import { attachHttp } from './attach-http.js';
import { listeningUrls } from './listen-urls.js';
import { startRetention } from './retention.js';
import { ServedFeeds } from './served-feeds.js';

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly port: number;
  /** Graceful: stops accepting, answers held requests, lets in-flight writes finish, closes the database. Safe to call twice. */
  close(): Promise<void>;
  /** Runs a retention sweep now, besides the periodic ones; resolves once it is done. */
  sweepRetention(): Promise<void>;
}

/** Opens a database (the server's when `dsn` is undefined); a failure is a ConfigError naming `source`. */
function openStore(stores: StoreSet, dsn: Dsn | undefined, source: string): void {
  try {
    stores.get(dsn);
  } catch (error) {
    throw new ConfigError(`${source}: cannot open the database: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Opens a database and waits until it answers: a networked one (PostgreSQL) connects, and migrates
 * its schema, on first use.
 */
async function reachStore(stores: StoreSet, dsn: Dsn | undefined, source: string): Promise<void> {
  openStore(stores, dsn, source);
  try {
    await stores.get(dsn).ping();
  } catch (error) {
    throw new ConfigError(`${source}: cannot open the database: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Loads the feed files and opens every database they and the options name now, so that a bad path
 * fails start-up (or a file's reload) rather than the first request; declares the consumer groups
 * the files name; adds the queues created on first use, kept in the server's database.
 */
async function openFeeds(options: ServerOptions, stores: StoreSet): Promise<{ files: FeedDirectory; feeds: ServedFeeds }> {
  try {
    await reachStore(stores, undefined, '--db (ATOMMQ_DB)');
    const files = new FeedDirectory(options.feedsDir, (feed) => openStore(stores, feed.db, 'field "db"'));
    await Promise.all(files.list().map((feed) => reachStore(stores, feed.db, `feed "${feed.name}", field "db"`)));
    await Promise.all(files.list().map((feed) => declareGroups(stores.get(feed.db), feed.name, feed.groups)));
    return { files, feeds: await ServedFeeds.open(files, stores.get(), options.autoCreate) };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/**
 * Follows the feed files while the server runs: a feed whose file is gone ends its streams, a file
 * mounted or changed declares its consumer groups and takes back the policy set over HTTP; each
 * is logged.
 */
function followFeeds(files: FeedDirectory, feeds: ServedFeeds, stores: StoreSet, hub: Hub, logger: Logger): void {
  files.watch((event) => {
    if (event.type === 'invalid') logger.error(event.error.message);
    else if (event.type === 'unmounted') {
      logger.info({ feed: event.name }, 'feed unmounted');
      hub.closeFeed(event.name);
    } else {
      logger.info({ feed: event.feed.name }, `feed ${event.type}`);
      declareGroups(stores.get(event.feed.db), event.feed.name, event.feed.groups)
        .catch((error: unknown) => logger.error({ err: error, feed: event.feed.name }, 'declaring the consumer groups of the feed file failed'));
      feeds.fileChanged(event.feed.name)
        .catch((error: unknown) => logger.error({ err: error, feed: event.feed.name }, 'dropping the policy set over HTTP failed'));
    }
  });
}

/**
 * Starts AtomMQ: loads and watches the feed files, opens the databases (the kind of store chosen by
 * each DSN's scheme), enforces retention, serves HTTP and WebSocket, listens.
 *
 * @example const server = await startServer(resolveOptions({ port: '0' }), pino()); await server.close();
 */
export async function startServer(options: ServerOptions, logger: Logger): Promise<RunningServer> {
  const hub = new Hub({
    logger: (level, message) => logger[level](message),
    policyOf: (name) => feeds.get(name)?.delivery ?? 'broadcast',
    pausedOf: (name) => feeds.stopped(name),
  });
  const metrics = new Metrics({ hub, feeds: () => feeds.list(), storeFor: (feed) => stores.get(feed.db) });
  const settings = { durability: options.durability, log: (level: LogLevel, message: string) => logger[level](message) };
  const stores = new StoreSet(options.db, storeFactory(settings), (changes, elsewhere) => {
    for (const change of changes) hub.distribute(change, elsewhere);
    if (!elsewhere) metrics.committed(changes);
  }, (batch) => metrics.batch(batch));
  const access = startAccess(options, logger);
  let opened: Awaited<ReturnType<typeof openFeeds>>;
  try {
    opened = await openFeeds(options, stores);
  } catch (error) {
    access?.close();
    throw error;
  }
  const { files, feeds } = opened;
  feeds.onChange((name) => hub.retune(name));
  const shutdown = new AbortController();
  // Every held long-poll and claim listens for shutdown on this one signal, so thousands of
  // listeners are its normal load, not the leak Node warns of past ten.
  setMaxListeners(0, shutdown.signal);
  const accessLogs = createAccessLogger(options.accessLog, logger);
  const ctx: AppContext = {
    options, hub, logger, access,
    clients: new ClientLimits(options.maxConnectionsPerClient, options.maxStreamsPerClient),
    feeds,
    queues: feeds,
    storeFor: (feed) => stores.get(feed.db),
    shutdown: shutdown.signal,
    startedAt: new Date().toISOString(),
    metrics,
    accessLogger: accessLogs.logger ?? false,
  };
  followFeeds(files, feeds, stores, hub, logger);
  const retention = startRetention(ctx, options.pruneInterval, logger, (feed, n) => metrics.retentionRemoved(feed, n));
  const http = await attachHttp(ctx, createApp(ctx, () => stores.ping()));

  warnIfOpen(access, http.address, logger);
  const urls = listeningUrls(http.address, options.tls ? 'https' : 'http');
  const served = feeds.list().map((f) => f.name).sort();
  logger.info({ urls, feeds: served, db: describeDsn(options.db) },
    `AtomMQ listening on ${urls.join(' ')}, serving ${served.length === 0 ? `no feeds (add one to ${options.feedsDir})` : `feeds ${served.join(', ')}`}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      // First, so that the answers the abort below wakes (held long-polls) close their connections.
      const drained = http.drain(() => hub.close());
      shutdown.abort();
      files.close();
      access?.close();
      const swept = retention.stop();
      await drained;
      await swept;
      await stores.close();
      accessLogs.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { url: http.url, port: http.address.port, close, sweepRetention: retention.sweep };
}
