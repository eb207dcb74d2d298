import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { requestIdFor } from './access-log.js';
import { FEED_ROUTE, type FeedHandlers } from './atompub/feed-router.js';

/**
 * `GET` and `POST /feeds/<name>` exactly, the name still percent-encoded. Anything else, however
 * close (HEAD, a trailing slash, `/Feeds/`, an absolute URL), goes through Express's router, which
 * routes it by its own, more lenient, rules.
 */
const FEED_TARGET = /^\/feeds\/([^/?#]+)(?:\?|$)/;

export interface DirectRoutes {
  /** What every request goes through first (src/http/app.ts), as the app's first middleware. */
  readonly frontDoor: RequestHandler;
  readonly feeds: FeedHandlers;
  readonly onError: ErrorRequestHandler;
  readonly logger: Logger;
}

/**
 * Serves publishing to and reading from a feed without Express's router, and passes every other
 * request to `app`. Those two routes are nearly all of a bus's traffic, and the router's layers
 * (path matching per layer, a mounted router's prefix trimming and parameter processing, the
 * closures of each `next`) cost some 50 µs of CPU on a POST, a sixth of it, and 30 µs on a GET. The
 * request gets what the router would have given it: Express's request and response, the
 * `:name` parameter decoded as the router decodes it, the route for the metrics, the same
 * middleware in the same order, a rejected promise taken as an error, and the app's error handler.
 */
export function withDirectRoutes(app: Express, direct: DirectRoutes): RequestListener {
  const { frontDoor, feeds, onError, logger } = direct;
  const route = { path: FEED_ROUTE };
  return (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const handlers = incoming.method === 'POST' ? feeds.POST : incoming.method === 'GET' ? feeds.GET : undefined;
    const target = handlers && FEED_TARGET.exec(incoming.url ?? '');
    if (!handlers || !target) {
      app(incoming, outgoing);
      return;
    }
    const req = Object.setPrototypeOf(incoming, app.request) as Request;
    const res = Object.setPrototypeOf(outgoing, app.response) as Response;
    req.res = res;
    res.req = req;
    res.locals = Object.create(null) as Response['locals'];
    req.originalUrl = req.url;
    req.baseUrl = '';
    req.params = {};
    req.route = route;
    const encodedName = target[1] as string;
    let step = -1;
    const next = (error?: unknown): void => {
      if (error !== undefined) {
        onError(error, req, res, (unanswered: unknown) => {
          // As Express's final handler does: an answer already under way can only be cut short.
          logger.error({ reqId: requestIdFor(res), err: unanswered, method: req.method, url: req.originalUrl }, 'error after the answer began');
          req.socket.destroy();
        });
        return;
      }
      step++;
      try {
        // After the front door, as the router decodes parameters after the app's middleware: a
        // malformed name is answered, logged and counted like any other bad request.
        if (step === 1) req.params = { name: decodeURIComponent(encodedName) };
        const handler = step === 0 ? frontDoor : handlers[step - 1];
        if (!handler) throw new Error(`the handlers of ${req.method} ${FEED_ROUTE} ended without answering`);
        const pending: unknown = handler(req, res, next);
        if (pending instanceof Promise) pending.then(undefined, (reason: unknown) => next(reason ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}
