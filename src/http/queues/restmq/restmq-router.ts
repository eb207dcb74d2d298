import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { rawBody } from '../../body.js';
import { methodNotAllowed } from '../../error-handler.js';
import { grant, requireGrant } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { getHelp, postCommand } from './json-protocol.js';
import { deleteQueue, getIndex, getQueue, listQueues, postIndex, postQueue } from './messages.js';
import { allStats, controlRoute, policyRoute, queueStats } from './queue-settings.js';

/**
 * RestMQ's routes (DESIGN.md section 12), mounted before the service document: `GET /` stays the
 * AtomPub service document unless it names a queue (`GET /?queue=Q` is RestMQ's take).
 */
export function restmqRouter(ctx: AppContext): Router {
  const router = Router();
  const body = rawBody(ctx.options.bodyLimit);

  router.get('/', (req, res, next) => {
    const view = requestView(ctx, req);
    const queue = view.query('queue');
    if (queue === undefined) {
      next();
      return;
    }
    return requireGrant(ctx, view, queue, 'consume').then(() => getIndex(ctx, req, res, queue));
  });
  router.post('/', body, (req, res) => postIndex(ctx, req, res));

  router.get('/q', (req, res) => listQueues(ctx, req, res));
  router.all('/q', methodNotAllowed('GET, HEAD'));
  router.get('/q/:name', grant(ctx, 'consume'), (req, res) => getQueue(ctx, req, res));
  router.post('/q/:name', grant(ctx, 'publish'), body, (req, res) => postQueue(ctx, req, res));
  router.delete('/q/:name', grant(ctx, 'admin'), (req, res) => deleteQueue(ctx, req, res));
  router.all('/q/:name', methodNotAllowed('GET, POST, DELETE'));

  router.get('/queue', (_req, res) => getHelp(res));
  router.post('/queue', body, (req, res) => postCommand(ctx, req, res));
  router.all('/queue', methodNotAllowed('GET, HEAD, POST'));

  for (const [path, route] of [['/p/:name', policyRoute], ['/control/:name', controlRoute]] as const) {
    router.get(path, grant(ctx, 'read'), (req, res) => route(ctx, req, res));
    router.post(path, grant(ctx, 'admin'), body, (req, res) => route(ctx, req, res));
    router.all(path, methodNotAllowed('GET, HEAD, POST'));
  }

  router.get('/stats', (req, res) => allStats(ctx, req, res));
  router.all('/stats', methodNotAllowed('GET, HEAD'));
  router.get('/stats/:name', grant(ctx, 'read'), (req, res) => queueStats(ctx, req, res));
  router.all('/stats/:name', methodNotAllowed('GET, HEAD'));
  return router;
}
