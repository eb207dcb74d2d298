/**
 * The HTTP application over a store the test holds, for tests that watch the store while requests
 * run (how many group writes a held claim makes, say). Real HTTP on port 0, a real store of either
 * kind (support/stores.ts), the real app, hub and feed directory, put together as
 * src/runtime/runtime.ts does, minus its lifecycle.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { FeedDirectory } from '../../src/config/feed-directory.js';
import { resolveOptions } from '../../src/config/server-options.js';
import { createApp } from '../../src/http/app.js';
import type { AppContext } from '../../src/http/context.js';
import { Hub } from '../../src/hub/hub.js';
import { ServedFeeds } from '../../src/runtime/served-feeds.js';
import type { Store } from '../../src/store/store.js';
import type { StoreKind } from './postgres.js';
import { makeFeedsDir } from './server.js';
import { StoreScope } from './stores.js';

export interface AppServer {
  readonly url: string;
  readonly store: Store;
  /** Where its store is: another app server given it shares the database (PostgreSQL). */
  readonly db: string;
  feedUrl(name: string): string;
  close(): Promise<void>;
}

export async function startAppServer(feeds: Record<string, object>, kind: StoreKind = 'sqlite', db?: string): Promise<AppServer> {
  const scope = new StoreScope(kind, db);
  const store = await scope.open();
  const feedsDir = makeFeedsDir(scope.files, feeds);
  const feedCatalogue = await ServedFeeds.open(new FeedDirectory(feedsDir), store, true);
  const hub = new Hub({ policyOf: (name) => feedCatalogue.get(name)?.delivery ?? 'broadcast', pausedOf: (name) => feedCatalogue.stopped(name) });
  store.onCommit((changes, elsewhere) => {
    for (const change of changes) hub.distribute(change, elsewhere);
  });
  const shutdown = new AbortController();
  feedCatalogue.onChange((name) => hub.retune(name));
  const ctx: AppContext = {
    options: resolveOptions({ port: '0', feedsDir }),
    feeds: feedCatalogue,
    queues: feedCatalogue,
    storeFor: () => store,
    hub,
    logger: pino({ level: 'silent' }),
    shutdown: shutdown.signal,
    startedAt: new Date().toISOString(),
  };
  const server = createServer(createApp(ctx, () => store.ping()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    db: kind === 'postgres' ? scope.pgUrl : scope.path,
    feedUrl: (name) => `${url}/feeds/${name}`,
    close: async () => {
      shutdown.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      hub.close();
      await scope.cleanUp();
    },
  };
}
