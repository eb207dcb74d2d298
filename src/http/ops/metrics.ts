import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { EVERY_FEED, grant } from '../grant.js';
import type { Metrics } from './metrics-registry.js';

/** Prometheus text of every metric (src/http/ops/metrics-registry.ts lists them). */
async function getMetrics(metrics: Metrics, res: Response): Promise<void> {
  const text = await metrics.registry.metrics();
  res.set('Cache-Control', 'no-store').type(metrics.registry.contentType).send(text);
}

/**
 * `GET /metrics`. With access control on, it needs `admin` over every feed (a grant on `*`): the
 * figures name every feed. Not served when the server has no metrics (an app built without them, as some tests do).
 */
export function metricsRouter(ctx: AppContext): Router {
  const router = Router();
  const { metrics } = ctx;
  if (!metrics) return router;
  router.get('/metrics', grant(ctx, 'admin', EVERY_FEED), (_req, res) => getMetrics(metrics, res));
  router.all('/metrics', methodNotAllowed('GET, HEAD'));
  return router;
}

/**
 * Counts every HTTP answer by method, the route pattern that matched (`/feeds/:name`, never the
 * path: no names, keys or cursors beyond the pattern) and status. An answer no route matched
 * counts as `unmatched`.
 */
export function countAnswers(metrics: Metrics): (req: Request, res: Response) => void {
  return (req, res) => {
    res.once('close', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics.answered(req.method, route, res.statusCode);
    });
  };
}
