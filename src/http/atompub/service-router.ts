import { Router, type Request, type Response } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderServiceXml } from '../../atom/render-service.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { readableFeeds } from '../grant.js';
import { requestView } from '../request-view.js';

/** The AtomPub service document: one workspace, one collection per feed the caller may read. */
async function getService(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const view = requestView(ctx, req);
  const feeds = (await readableFeeds(ctx, view)).sort((a, b) => a.name.localeCompare(b.name));
  res.type(MEDIA.service).send(renderServiceXml(view.baseUrl(), feeds));
}

/** `GET /`. */
export function serviceRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/', (req, res) => getService(ctx, req, res));
  router.all('/', methodNotAllowed('GET, HEAD'));
  return router;
}
