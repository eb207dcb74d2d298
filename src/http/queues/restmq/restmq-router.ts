import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { rawBody } from '../../body.js';
import { methodNotAllowed } from '../../error-handler.js';
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
    const queue = requestView(ctx, req).query('queue');
    if (queue === undefined) {
      next();
      return;
    }
    return getIndex(ctx, req, res, queue);
  });
  router.post('/', body, (req, res) => postIndex(ctx, req, res));

  router.get('/q', (_req, res) => listQueues(ctx, res));
  router.all('/q', methodNotAllowed('GET, HEAD'));
  router.get('/q/:name', (req, res) => getQueue(ctx, req, res));
  router.post('/q/:name', body, (req, res) => postQueue(ctx, req, res));
  router.delete('/q/:name', (req, res) => deleteQueue(ctx, req, res));
  router.all('/q/:name', methodNotAllowed('GET, POST, DELETE'));

  router.get('/queue', (_req, res) => getHelp(res));
  router.post('/queue', body, (req, res) => postCommand(ctx, req, res));
  router.all('/queue', methodNotAllowed('GET, HEAD, POST'));

  for (const [path, route] of [['/p/:name', policyRoute], ['/control/:name', controlRoute]] as const) {
    router.get(path, (req, res) => route(ctx, req, res));
    router.post(path, body, (req, res) => route(ctx, req, res));
    router.all(path, methodNotAllowed('GET, HEAD, POST'));
  }

  router.get('/stats', (_req, res) => allStats(ctx, res));
  router.all('/stats', methodNotAllowed('GET, HEAD'));
  router.get('/stats/:name', (req, res) => queueStats(ctx, req, res));
  router.all('/stats/:name', methodNotAllowed('GET, HEAD'));
  return router;
}
