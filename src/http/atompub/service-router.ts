import { Router } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderServiceXml } from '../../atom/render-service.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { requestView } from '../request-view.js';

/** `GET /` (the AtomPub service document) and `GET /healthz`. */
export function serviceRouter(ctx: AppContext, pingStores: () => Promise<void>): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const feeds = ctx.feeds.list().sort((a, b) => a.name.localeCompare(b.name));
    res.type(MEDIA.service).send(renderServiceXml(requestView(ctx, req).baseUrl(), feeds));
  });
  router.all('/', methodNotAllowed('GET, HEAD'));
  // For load balancers, and for clients that validate a pooled connection before using it.
  router.get('/healthz', async (_req, res) => {
    await pingStores();
    res.set('Cache-Control', 'no-store').json({ status: 'ok', feeds: ctx.feeds.list().length, consumers: ctx.hub.size });
  });
  router.all('/healthz', methodNotAllowed('GET, HEAD'));
  return router;
}
