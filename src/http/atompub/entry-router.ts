import { Router } from 'express';
import { rawBody } from '../body.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { grant } from '../grant.js';
import { entryPage, pageForBrowsers } from '../ops/web/browser-pages.js';
import { deleteMember, getMember, putMember } from './members.js';

/** `/feeds/<name>/entries/<key>`: one member entry (for a browser, its page). */
export function entryRouter(ctx: AppContext): Router {
  const router = Router();
  const path = '/feeds/:name/entries/:key';
  router.get(path, grant(ctx, 'read'), pageForBrowsers(ctx, entryPage), (req, res) => getMember(ctx, req, res));
  router.put(path, grant(ctx, 'admin'), rawBody(ctx.options.bodyLimit), (req, res) => putMember(ctx, req, res));
  router.delete(path, grant(ctx, 'admin'), (req, res) => deleteMember(ctx, req, res));
  router.all(path, methodNotAllowed('GET, HEAD, PUT, DELETE'));
  return router;
}
