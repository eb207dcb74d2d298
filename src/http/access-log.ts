import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import type { AppContext } from './context.js';

/**
 * What a caller's `X-Request-Id` may be to be taken as it is: short, and nothing that could forge
 * a log line or a header. Anything else is replaced by a fresh id.
 */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The id of a request: the caller's `X-Request-Id` when it is valid (a proxy or a client that
 * traces its calls chose it), else a fresh UUID.
 *
 * @example requestIdOf({ 'x-request-id': 'order-42' }) // 'order-42'
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const sent = headers['x-request-id'];
  return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** The id the access log gave this request (it is the app's first middleware). */
export function requestIdFor(res: Response): string {
  return res.locals.requestId as string;
}

/**
 * The access log: gives each request its id (answered in `X-Request-Id`, named in every log line
 * of the request) and logs one line at `info` (to `ctx.accessLogger`: `--access-log`) once the response is done: method, path, status,
 * milliseconds, bytes sent (headers included) and the id. A response cut short (the client left,
 * a stream ended by shutdown) says `aborted`. Streams log their opening too (src/http/streams/feed-stream.ts),
 * since their access line comes only when they end. The app's one front middleware calls it first (app.ts).
 */
export function accessLog(ctx: AppContext): (req: Request, res: Response) => void {
  return (req, res) => {
    const requestId = requestIdOf(req.headers);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const log = ctx.accessLogger ?? ctx.logger;
    if (!log || !log.isLevelEnabled('info')) return;
    const started = performance.now();
    const { socket } = req;
    const bytesBefore = socket.bytesWritten;
    res.once('close', () => {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const aborted = !res.writableFinished;
      log.info({
        reqId: requestId, method: req.method, path: req.originalUrl, status: res.statusCode, ms,
        bytes: socket.bytesWritten - bytesBefore, ...(aborted ? { aborted } : {}),
      }, `${req.method} ${req.originalUrl} ${res.statusCode} ${ms} ms${aborted ? ' (aborted)' : ''}`);
    });
  };
}
