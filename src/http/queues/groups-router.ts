import { Router } from 'express';
import { rawBody } from '../body.js';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../error-handler.js';
import { grant } from '../grant.js';
import { postClaims } from './claims.js';
import { getDead, postRequeue } from './dead-letters.js';
import { deleteGroup, getGroup, listGroups, putGroup } from './group-status.js';
import { postReceipts, type ReceiptAction } from './receipts.js';

/** The routes of consumer groups (DESIGN.md section 10), under each feed's `groups/`. */
export function groupsRouter(ctx: AppContext): Router {
  const router = Router();
  const body = rawBody(ctx.options.bodyLimit);
  const group = '/feeds/:name/groups/:group';

  router.get('/feeds/:name/groups', grant(ctx, 'read'), (req, res) => listGroups(ctx, req, res));
  router.all('/feeds/:name/groups', methodNotAllowed('GET, HEAD'));

  router.get(group, grant(ctx, 'read'), (req, res) => getGroup(ctx, req, res));
  router.put(group, grant(ctx, 'admin'), body, (req, res) => putGroup(ctx, req, res));
  router.delete(group, grant(ctx, 'admin'), (req, res) => deleteGroup(ctx, req, res));
  router.all(group, methodNotAllowed('GET, HEAD, PUT, DELETE'));

  router.post(`${group}/claims`, grant(ctx, 'consume'), (req, res) => postClaims(ctx, req, res));
  router.all(`${group}/claims`, methodNotAllowed('POST'));

  for (const action of ['acks', 'nacks', 'extensions'] as const satisfies readonly ReceiptAction[]) {
    router.post(`${group}/${action}`, grant(ctx, 'consume'), body, (req, res) => postReceipts(ctx, req, res, action));
    router.all(`${group}/${action}`, methodNotAllowed('POST'));
  }

  router.get(`${group}/dead`, grant(ctx, 'read'), (req, res) => getDead(ctx, req, res));
  router.all(`${group}/dead`, methodNotAllowed('GET, HEAD'));
  router.post(`${group}/dead/requeue`, grant(ctx, 'admin'), body, (req, res) => postRequeue(ctx, req, res));
  router.all(`${group}/dead/requeue`, methodNotAllowed('POST'));
  return router;
}
