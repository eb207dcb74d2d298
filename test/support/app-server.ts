/**
 * The HTTP application over a store the test holds, for tests that watch the store while requests
 * run (how many group writes a held claim makes, say). Real HTTP on port 0, a real SQLite file, the
 * real app, hub and feed directory, put together as src/runtime/runtime.ts does, minus its lifecycle.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { FeedDirectory } from '../../src/config/feed-directory.js';
import { resolveOptions } from '../../src/config/server-options.js';
import { createApp } from '../../src/http/app.js';
import type { AppContext } from '../../src/http/context.js';
import { Hub } from '../../src/hub/hub.js';
import { ServedFeeds } from '../../src/runtime/served-feeds.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeFeedsDir, tempDir } from './server.js';

export interface AppServer {
  readonly url: string;
  readonly store: SqliteStore;
  feedUrl(name: string): string;
  close(): Promise<void>;
}

export async function startAppServer(feeds: Record<string, object>): Promise<AppServer> {
  const dir = tempDir('atommq-app-');
  const feedsDir = makeFeedsDir(dir, feeds);
  const dbPath = join(dir, 'atommq.db');
  const store = new SqliteStore({ path: dbPath });
  const hub = new Hub();
  store.onCommit((changes) => {
    for (const change of changes) hub.distribute(change);
  });
  const shutdown = new AbortController();
  const feedCatalogue = await ServedFeeds.open(new FeedDirectory(feedsDir), store, true);
  feedCatalogue.onChange((name) => hub.retune(name));
  const ctx: AppContext = {
    options: resolveOptions({ port: '0', feedsDir, db: `sqlite:${dbPath}` }),
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
    feedUrl: (name) => `${url}/feeds/${name}`,
    close: async () => {
      shutdown.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      hub.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
