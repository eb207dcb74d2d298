import type { RequestListener } from 'node:http';
import express, { type Express, type RequestHandler, type Response } from 'express';
import { accessLog } from './access-log.js';
import { cors } from './cors.js';
import { entryRouter } from './atompub/entry-router.js';
import { feedHandlers, feedRouter } from './atompub/feed-router.js';
import { serviceRouter } from './atompub/service-router.js';
import { refuseWhileShuttingDown, type AppContext } from './context.js';
import { errorHandler, notFound } from './error-handler.js';
import { withDirectRoutes } from './direct-routes.js';
import { countAnswers, metricsRouter } from './ops/metrics.js';
import { healthzRouter } from './ops/healthz.js';
import { webRouter } from './ops/web/web-router.js';
import { groupsRouter } from './queues/groups-router.js';
import { qstRouter } from './queues/qst/qst-router.js';
import { restmqRouter } from './queues/restmq/restmq-router.js';
import { requestView } from './request-view.js';
import { endingInNewline } from './respond.js';
import { streamsRouter } from './streams/streams-router.js';

/**
 * Every body sent whole (documents, JSON, problems) ends with a newline, as text on a terminal
 * should: `curl URL` then leaves the shell's prompt on a line of its own. Streams write their
 * frames with `res.write`, which this leaves alone.
 */
function endBodiesWithNewline(app: Express): void {
  const send = app.response.send;
  app.response.send = function sendLine(this: Response, body?: unknown) {
    return send.call(this, typeof body === 'string' ? endingInNewline(body) : body);
  };
}

/**
 * What every request goes through first, in this order: its id and access line, CORS (which answers
 * a preflight itself), its count in the metrics, and the checks that refuse it before any route
 * runs. One middleware rather than one each: each layer of Express's router costs a pass of path
 * matching on every request.
 */
function frontDoor(ctx: AppContext): RequestHandler {
  const log = accessLog(ctx);
  const allowOrigins = ctx.options.cors.length > 0 ? cors(ctx.options.cors) : undefined;
  const count = ctx.metrics ? countAnswers(ctx.metrics) : undefined;
  return (req, res, next) => {
    log(req, res);
    if (allowOrigins?.(req, res)) return;
    count?.(req, res);
    refuseWhileShuttingDown(ctx);
    ctx.clients?.checkConnection(req.socket);
    // A Host that no URL can be built from is refused before anything is done: a POST must not be
    // stored and then fail to answer with its Location.
    requestView(ctx, req).baseUrl();
    next();
  };
}

/**
 * The Express application: one router per face (AtomPub, streams, operations), and the one error
 * handler, behind the direct routes to a feed (src/http/direct-routes.ts). It holds no state of its
 * own; everything comes in through `ctx`.
 */
export function createApp(ctx: AppContext, pingStores: () => Promise<void>): RequestListener {
  const door = frontDoor(ctx);
  const feeds = feedHandlers(ctx);
  const onError = errorHandler(ctx);
  const app = express();
  app.disable('x-powered-by');
  // Feeds and entries compute their own validators; Express's body hash would cost a pass over every page.
  app.set('etag', false);
  endBodiesWithNewline(app);
  app.use(door);
  app.use(feedRouter(feeds));
  app.use(entryRouter(ctx));
  app.use(groupsRouter(ctx));
  app.use(qstRouter(ctx));
  // Before the service document's router: RestMQ's POST / and GET /?queue= share its path.
  app.use(restmqRouter(ctx));
  // Before the service document's: a browser asking for GET / gets a page instead.
  app.use(webRouter(ctx));
  app.use(serviceRouter(ctx));
  app.use(healthzRouter(ctx, pingStores));
  app.use(metricsRouter(ctx));
  app.use(streamsRouter(ctx));
  app.use(notFound);
  app.use(onError);
  return withDirectRoutes(app, { frontDoor: door, feeds, onError, logger: ctx.logger });
}
