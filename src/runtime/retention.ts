import type { Logger } from 'pino';
import type { AppContext } from '../http/context.js';

export interface Retention {
  stop(): void;
}

/**
 * Enforces each feed's `retention` (maxEntries, maxAgeSeconds) every `intervalSeconds`, on the
 * feeds served at that moment. A failure is logged and tried again at the next round.
 */
export function startRetention(ctx: Pick<AppContext, 'feeds' | 'storeFor'>, intervalSeconds: number, logger: Logger): Retention {
  const timer = setInterval(() => {
    for (const feed of ctx.feeds.list()) {
      if (!feed.retention) continue;
      ctx.storeFor(feed).prune(feed.name, feed.retention, Date.now())
        .then((n) => { if (n) logger.debug({ feed: feed.name, removed: n }, 'retention'); })
        .catch((error: unknown) => logger.error({ err: error, feed: feed.name }, 'retention failed'));
    }
  }, intervalSeconds * 1000);
  // Retention alone never keeps the process alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
