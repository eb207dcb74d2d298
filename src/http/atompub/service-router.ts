import { Router, type Request, type Response } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderServiceXml } from '../../atom/render-service.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { requestView } from '../request-view.js';

/** The AtomPub service document: one workspace, one collection per feed. */
function getService(ctx: AppContext, req: Request, res: Response): void {
  const feeds = ctx.feeds.list().sort((a, b) => a.name.localeCompare(b.name));
  res.type(MEDIA.service).send(renderServiceXml(requestView(ctx, req).baseUrl(), feeds));
}

/** `GET /`. */
export function serviceRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/', (req, res) => getService(ctx, req, res));
  router.all('/', methodNotAllowed('GET, HEAD'));
  return router;
}
