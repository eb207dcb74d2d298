import { Router, type Response } from 'express';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';

/** Liveness with a database ping, for load balancers and clients that validate a pooled connection before using it. */
async function getHealth(ctx: AppContext, pingStores: () => Promise<void>, res: Response): Promise<void> {
  await pingStores();
  res.set('Cache-Control', 'no-store').json({ status: 'ok', feeds: ctx.feeds.list().length, consumers: ctx.hub.size });
}

/** `GET /healthz`. */
export function healthzRouter(ctx: AppContext, pingStores: () => Promise<void>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => getHealth(ctx, pingStores, res));
  router.all('/healthz', methodNotAllowed('GET, HEAD'));
  return router;
}
