import { Router, type RequestHandler } from 'express';
import { rawBody } from '../body.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { grant } from '../grant.js';
import { feedPage, pageForBrowsers } from '../ops/web/browser-pages.js';
import { postEntry } from './publish.js';
import { getFeed } from './read-feed.js';

/** A feed's own URL, the one nearly all of the traffic goes to. */
export const FEED_ROUTE = '/feeds/:name';

/** What answers each method of `/feeds/<name>`, in order: reading (pages, long-polls, server-sent events, a browser's page) and publishing. */
export interface FeedHandlers {
  readonly GET: readonly RequestHandler[];
  readonly POST: readonly RequestHandler[];
}

export function feedHandlers(ctx: AppContext): FeedHandlers {
  return {
    GET: [grant(ctx, 'read'), pageForBrowsers(ctx, feedPage), (req, res) => getFeed(ctx, req, res)],
    POST: [grant(ctx, 'publish'), rawBody(ctx.options.bodyLimit), (req, res) => postEntry(ctx, req, res)],
  };
}

/**
 * `/feeds/<name>` as Express routes. Most requests never get here: src/http/direct-routes.ts
 * dispatches the same handlers without the router, and leaves to it only the requests whose target
 * it does not match exactly (HEAD, a trailing slash, another case, an absolute URL).
 */
export function feedRouter(handlers: FeedHandlers): Router {
  const router = Router();
  router.get(FEED_ROUTE, ...handlers.GET);
  router.post(FEED_ROUTE, ...handlers.POST);
  router.all(FEED_ROUTE, methodNotAllowed('GET, HEAD, POST'));
  return router;
}
