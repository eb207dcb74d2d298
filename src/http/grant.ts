import type { RequestHandler } from 'express';
import type { Grant } from '../access/access-file.js';
import type { FeedConfig } from '../config/feed-config.js';
import type { AppContext } from './context.js';
import type { RequestView } from './request-view.js';

/**
 * The access check every route asks for, with the grant it needs on the feed it names: nothing
 * without an access file; otherwise 401 or 403 (src/access/access-control.ts). It runs before the
 * body is read and before the feed is looked up, so a refused request changes nothing and learns
 * nothing of which feeds exist.
 */
export async function requireGrant(ctx: AppContext, view: RequestView, feed: string, grant: Grant): Promise<void> {
  await ctx.access?.require(view.header('authorization'), feed, grant);
}

/**
 * A feed name no feed can have: a grant on it is a grant whose pattern is `*`, over every feed,
 * which is what a route about the whole server (`/metrics`) asks for.
 */
export const EVERY_FEED = '*';

/**
 * The check as route middleware, for the feed of the route's `:name` (or `feed`, for routes that
 * name none).
 *
 * @example router.post('/feeds/:name', grant(ctx, 'publish'), body, handler)
 */
export function grant(ctx: AppContext, needed: Grant, feed?: string): RequestHandler {
  return (req, _res, next) => {
    // An open server pays nothing, and a known client no more than a digest and a lookup: no promise, no tick.
    const pending = ctx.access?.require(req.get('authorization'), feed ?? String(req.params.name), needed);
    if (pending) return pending.then(() => next());
    next();
  };
}

/** The feeds the request may read, for listings (the service document): all of them on an open server. */
export async function readableFeeds(ctx: AppContext, view: RequestView): Promise<FeedConfig[]> {
  const feeds = ctx.feeds.list();
  if (!ctx.access) return feeds;
  const principal = await ctx.access.authenticate(view.header('authorization'));
  return feeds.filter((feed) => principal.may(feed.name, 'read'));
}
