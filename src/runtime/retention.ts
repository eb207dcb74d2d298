import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { FeedConfig } from '../config/feed-config.js';
import type { AppContext } from '../http/context.js';

export interface Retention {
  /** No further sweeps or batches; resolves once the batch in progress, if any, is committed. */
  stop(): Promise<void>;
  /** Runs one sweep now (a test's, or the bench's); resolves when it is done. */
  sweep(): Promise<void>;
}

/** Told how many changes each batch of a sweep removed from a feed (the metrics count them). */
export type RemovalListener = (feed: string, removed: number) => void;

/**
 * Enforces each feed's `retention` (maxEntries, maxAgeSeconds, tombstoneSeconds, keepUnacked)
 * every `intervalSeconds`, on the feeds served at that moment. A feed is swept in bounded batches,
 * one commit each and paced, so writes interleave with a long sweep instead of waiting for all of it. A
 * sweep still running when the next is due is not doubled. A failure is logged and tried again at
 * the next round.
 */
export function startRetention(ctx: Pick<AppContext, 'feeds' | 'storeFor'>, intervalSeconds: number, logger: Logger,
  onRemoved?: RemovalListener): Retention {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweepFeed = async (feed: FeedConfig): Promise<void> => {
    let total = 0;
    while (!stopped) {
      const started = performance.now();
      const removed = await ctx.storeFor(feed).prune(feed.name, feed.retention, Date.now());
      if (removed === 0) break;
      total += removed;
      onRemoved?.(feed.name, removed);
      // Rests as long as the batch took (queue and commit): a long sweep then has at most about
      // half of the writer's time, and the writes between its batches commit without one.
      await sleep(performance.now() - started);
    }
    if (total > 0) logger.debug({ feed: feed.name, removed: total }, 'retention');
  };
  const sweep = (): Promise<void> => {
    running ??= (async () => {
      for (const feed of ctx.feeds.list()) {
        if (stopped) return;
        await sweepFeed(feed).catch((error: unknown) => logger.error({ err: error, feed: feed.name }, 'retention failed'));
      }
    })().finally(() => { running = undefined; });
    return running;
  };
  const timer = setInterval(() => void sweep(), intervalSeconds * 1000);
  // Retention alone never keeps the process alive.
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    sweep,
  };
}
