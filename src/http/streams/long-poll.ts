import type { Response } from 'express';
import { v4 as uuidv4 } from 'uuid';
import type { Hub } from '../../hub/hub.js';
import type { AppContext } from '../context.js';
import type { WaitRequest } from '../read-params.js';

export interface FeedWatch {
  /** Resolves when a change newer than the cursor is committed. */
  readonly news: Promise<void>;
  readonly stop: () => void;
}

/**
 * Registers with the hub for news of a feed beyond `after`. Callers register *before* reading the
 * feed, so a commit that lands between the read and the wait cannot be missed; the hub then wakes
 * the request on commit, and a held request costs no polling of the database. `consumer`: also
 * woken when the feed's delivery changes (see Hub.retune).
 */
export function watchFeed(hub: Hub, feed: string, after: number, options: { consumer?: boolean } = {}): FeedWatch {
  const id = `long-poll:${uuidv4()}`;
  let wake!: () => void;
  const news = new Promise<void>((resolve) => { wake = resolve; });
  // A watcher: it only learns that something changed and then reads the store, so it is told of
  // every change whatever the feed's delivery policy. A consumer's wait (a claim, a QST pull) is
  // news too when delivery to consumers is resumed.
  const onRetune = options.consumer ? (): void => wake() : undefined;
  hub.register(id, { feed, role: 'watcher', onRetune }, (change) => {
    if (change.seq > after) wake();
  });
  return { news, stop: () => hub.unregister(id) };
}

/**
 * Waits for `news`, at most `ms`, and no longer than every one of `signals` stays unaborted. (Not
 * AbortSignal.any: a composite signal per request would leave a weak reference behind on the
 * server's long-lived shutdown signal each time.)
 */
export async function holdUntil(news: Promise<void>, ms: number, signals: readonly AbortSignal[]): Promise<void> {
  if (signals.some((s) => s.aborted)) return;
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    await Promise.race([
      news,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        stop = () => resolve();
        for (const s of signals) s.addEventListener('abort', stop, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (stop) for (const s of signals) s.removeEventListener('abort', stop);
  }
}

/**
 * A cursor read that may wait (`?wait=`, `Prefer: wait=`, `long-polling=true`): `read` answers at
 * once when it finds something; otherwise the request is held until the hub reports a commit to the
 * feed beyond `after`, the wait runs out, the client leaves or the server shuts down, and `read`
 * runs again. Undefined when the client left during the wait: nobody is there to answer.
 * `consumer`: see watchFeed.
 */
export async function longPoll<T>(ctx: AppContext, res: Response, feed: string, after: number, wait: WaitRequest,
  read: () => Promise<T>, found: (result: T) => boolean, options: { consumer?: boolean } = {}): Promise<T | undefined> {
  if (wait.preferred) res.set('Preference-Applied', `wait=${wait.seconds}`);
  const watch = watchFeed(ctx.hub, feed, after, options);
  try {
    const result = await read();
    if (found(result)) return result;
    const gone = new AbortController();
    const leave = (): void => gone.abort();
    res.once('close', leave);
    try {
      await holdUntil(watch.news, wait.seconds * 1000, [gone.signal, ctx.shutdown]);
    } finally {
      // Every response closes once answered: only a close during the wait means the client left.
      res.off('close', leave);
    }
    return gone.signal.aborted ? undefined : await read();
  } finally {
    watch.stop();
  }
}
