import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { rawBody } from '../../body.js';
import { methodNotAllowed } from '../../error-handler.js';
import { grant } from '../../grant.js';
import { getMessages } from './pull.js';
import { postMessages } from './push.js';

/** QST v2 (DESIGN.md section 11): one URL per feed to push and to pull. */
export function qstRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/qst/:name', grant(ctx, 'consume'), (req, res) => getMessages(ctx, req, res));
  router.post('/qst/:name', grant(ctx, 'publish'), rawBody(ctx.options.bodyLimit), (req, res) => postMessages(ctx, req, res));
  router.all('/qst/:name', methodNotAllowed('GET, HEAD, POST'));
  return router;
}
