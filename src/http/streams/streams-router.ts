import { Router } from 'express';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { grant } from '../grant.js';
import { streamLines } from './comet.js';
import { upgradeRequired } from './websocket.js';

/**
 * The stream routes of their own: `/c/<name>` (comet) and `/feeds/<name>/ws` (or RestMQ's
 * `/ws/<queue>`) without an Upgrade.
 * Server-sent events share the feed's URL (src/http/atompub/read-feed.ts); WebSocket upgrades are
 * answered by the http.Server's 'upgrade' listener (src/runtime/attach-http.ts), not here.
 */
export function streamsRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/c/:name', grant(ctx, 'read'), (req, res) => streamLines(ctx, req, res));
  router.all('/c/:name', methodNotAllowed('GET, HEAD'));
  router.all('/feeds/:name/ws', grant(ctx, 'read'), upgradeRequired(ctx));
  router.all('/ws/:name', grant(ctx, 'read'), upgradeRequired(ctx));
  return router;
}
