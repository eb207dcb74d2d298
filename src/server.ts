import { createServer, type Server, type ServerOptions as HttpServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Dsn } from './config/dsn.js';
import { FeedDirectory } from './config/feed-directory.js';
import type { ServerOptions } from './config/server-options.js';
import { AtomMQError, ConfigError } from './errors/index.js';
import { createApp } from './http/app.js';
import { refuseOnSocket } from './http/error-handler.js';
import type { AppContext } from './http/context.js';
import { isStream } from './http/response-sink.js';
import { upgradeListener } from './http/upgrade.js';
import { webSocketEndpoint } from './http/websocket.js';
import { Hub } from './hub/hub.js';
import { listeningUrls } from './listen-urls.js';
import { ServedFeeds } from './runtime/served-feeds.js';
import { declareGroups } from './store/declare-groups.js';
import { StoreSet } from './store/store-set.js';

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly port: number;
  /** Graceful: stops accepting, answers held requests, lets in-flight writes finish, closes the database. Safe to call twice. */
  close(): Promise<void>;
}

/** How long in-flight requests get to finish on shutdown before their connections are cut. */
const DRAIN_MS = 10_000;

function listen(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Resolves once every response in flight is answered, streams excepted. */
async function answered(inFlight: Set<ServerResponse>): Promise<void> {
  while ([...inFlight].some((res) => !isStream(res))) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * How long a client may take to send a request. Only receiving counts (Node stops the clock once a
 * request is complete), so held long-polls and streams are not cut.
 */
function timeouts(options: ServerOptions): HttpServerOptions {
  const headersTimeout = Math.round(options.headersTimeout * 1000);
  return {
    headersTimeout,
    requestTimeout: Math.round(options.requestTimeout * 1000),
    // Node looks for expired requests every 30 s by default, which would let slow ones outlive their timeout by that much.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.round(headersTimeout / 2))),
  };
}

/** The answer to a request Node's HTTP parser gave up on. */
function clientProblem(error: NodeJS.ErrnoException, options: ServerOptions): AtomMQError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AtomMQError('HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AtomMQError('REQUEST_TIMEOUT',
        `the request was not received within ${options.headersTimeout} s (headers) or ${options.requestTimeout} s (all of it)`);
    default:
      return new AtomMQError('BAD_REQUEST', `the request is not valid HTTP (${error.code ?? error.message})`);
  }
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
 * Starts AtomMQ: loads and watches the feed files, opens the database, mounts the routes, listens.
 *
 * @example const server = await startServer(resolveOptions({ port: '0' }), pino()); await server.close();
 */
export async function startServer(options: ServerOptions, logger: Logger): Promise<RunningServer> {
  const hub = new Hub({
    logger: (level, message) => logger[level](message),
    policyOf: (name) => feeds.get(name)?.delivery ?? 'broadcast',
    pausedOf: (name) => feeds.stopped(name),
  });
  const stores = new StoreSet(options, (changes) => {
    for (const change of changes) hub.distribute(change);
  });
  // Open every database now, so a bad path fails start-up (or a file's reload) rather than the first request.
  let files: FeedDirectory;
  let feeds: ServedFeeds;
  try {
    openStore(stores, undefined, '--db (ATOMMQ_DB)');
    files = new FeedDirectory(options.feedsDir, (feed) => openStore(stores, feed.db, 'field "db"'));
    feeds = await ServedFeeds.open(files, stores.get(), options.autoCreate);
    await Promise.all(feeds.list().map((feed) => declareGroups(stores.get(feed.db), feed.name, feed.groups)));
  } catch (error) {
    await stores.close();
    throw error;
  }
  const shutdown = new AbortController();
  const ctx: AppContext = {
    options, hub, logger,
    feeds,
    queues: feeds,
    storeFor: (feed) => stores.get(feed.db),
    shutdown: shutdown.signal,
    startedAt: new Date().toISOString(),
  };
  feeds.onChange((name) => hub.retune(name));
  files.watch((event) => {
    if (event.type === 'invalid') logger.error(event.error.message);
    else if (event.type === 'unmounted') {
      logger.info({ feed: event.name }, 'feed unmounted');
      hub.closeFeed(event.name);
    } else {
      logger.info({ feed: event.feed.name }, `feed ${event.type}`);
      feeds.fileChanged(event.feed.name)
        .catch((error: unknown) => logger.error({ err: error, feed: event.feed.name }, 'dropping the policy set over HTTP failed'));
      declareGroups(stores.get(event.feed.db), event.feed.name, event.feed.groups)
        .catch((error: unknown) => logger.error({ err: error, feed: event.feed.name }, 'declaring the consumer groups of the feed file failed'));
    }
  });

  const pruner = setInterval(() => {
    for (const feed of feeds.list()) {
      if (!feed.retention) continue;
      ctx.storeFor(feed).prune(feed.name, feed.retention, Date.now())
        .then((n) => { if (n) logger.debug({ feed: feed.name, removed: n }, 'retention'); })
        .catch((error: unknown) => logger.error({ err: error, feed: feed.name }, 'retention failed'));
    }
  }, options.pruneInterval * 1000);
  pruner.unref();

  const server = createServer(timeouts(options), createApp(ctx, () => stores.ping()));
  const websockets = webSocketEndpoint(ctx);
  server.on('upgrade', upgradeListener(server, websockets.handleUpgrade));
  // Requests Node's parser rejects (a raw non-ASCII byte in the path, oversized headers) never reach
  // Express; they get the same problem+json answer as every other error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // A response already under way cannot be followed by another one on the same connection.
    if (error.code === 'ECONNRESET' || [...inFlight].some((res) => res.socket === socket && res.headersSent)) {
      socket.destroy();
      return;
    }
    refuseOnSocket(ctx, socket, clientProblem(error, options), undefined, undefined);
  });
  // Responses still being prepared when shutdown starts must tell keep-alive clients not to reuse
  // the connection: it is closed right after them, and a request sent on it would be lost unanswered.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const address = await listen(server, options.port, options.host);
  const host = address.family === 'IPv6' ? `[${address.address === '::' ? '::1' : address.address}]` : address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
  const url = `http://${host}:${address.port}`;
  const urls = listeningUrls(address);
  const served = feeds.list().map((f) => f.name).sort();
  logger.info({ urls, feeds: served, db: options.db.path },
    `AtomMQ listening on ${urls.join(' ')}, serving ${served.length === 0 ? `no feeds (add one to ${options.feedsDir})` : `feeds ${served.join(', ')}`}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      shutdown.abort();
      files.close();
      clearInterval(pruner);
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections that finish their last request after close() are idle: close them as they go.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        websockets.terminateAll();
      }, DRAIN_MS);
      server.closeIdleConnections();
      // Streams stay open until the other requests (the writes above all) are answered, so that
      // live readers get what those writes commit; then the hub ends them, each telling its reader why.
      await answered(inFlight);
      hub.close();
      await drained;
      clearInterval(idle);
      clearTimeout(deadline);
      await stores.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { url, port: address.port, close };
}
