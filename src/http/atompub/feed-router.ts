import { Router } from 'express';
import { rawBody } from '../body.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { grant } from '../grant.js';
import { feedPage, pageForBrowsers } from '../ops/web/browser-pages.js';
import { postEntry } from './publish.js';
import { getFeed } from './read-feed.js';

/** `/feeds/<name>`: read (pages, long-polls, server-sent events, a browser's page) and publish. */
export function feedRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/feeds/:name', grant(ctx, 'read'), pageForBrowsers(ctx, feedPage), (req, res) => getFeed(ctx, req, res));
  router.post('/feeds/:name', grant(ctx, 'publish'), rawBody(ctx.options.bodyLimit), (req, res) => postEntry(ctx, req, res));
  router.all('/feeds/:name', methodNotAllowed('GET, HEAD, POST'));
  return router;
}
