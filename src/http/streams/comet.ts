import type { Request, Response } from 'express';
import type { Change, Gap } from '../../store/store.js';
import { requestIdFor } from '../access-log.js';
import type { AppContext } from '../context.js';
import { FeedStream } from './feed-stream.js';
import type { StreamEnd } from './stream-end.js';
import { gapJson, renderChange } from './stream-frames.js';
import { openStream, ResponseSink, type ResponseFraming } from './response-sink.js';
import { readStreamCursor } from '../read-params.js';
import { requestView } from '../request-view.js';

const cometFraming: ResponseFraming = {
  kind: 'comet',
  frame: (change: Change) => `${renderChange(change, 'json', '')}\n`,
  gap: (gap: Gap) => `${gapJson(gap)}\n`,
  // A blank line: JSON-lines readers skip it, proxies see traffic.
  heartbeat: '\n',
  closing: (reason: StreamEnd) => `${JSON.stringify({ closing: reason })}\n`,
};

/**
 * `GET /c/<name>`: RestMQ's comet consumer. One long response that carries each message as a line
 * of JSON (the entry as `?format=json` gives it, with its seq) until the client leaves. Live
 * messages by default; `Xlastid` or `?lastid=` first sends what follows the cursor. The queue's
 * policy and status apply (a stopped queue sends nothing until started).
 */
export async function streamLines(ctx: AppContext, req: Request, res: Response): Promise<void> {
  // RestMQ's consumer binds to a queue that does not exist yet: it is created, as on any first use.
  const feed = await ctx.queues.ensure(String(req.params.name));
  const cursor = await readStreamCursor(requestView(ctx, req), feed, ctx.storeFor(feed));
  const stream = new FeedStream(ctx, {
    transport: 'comet', feed, cursor, format: 'json', sink: new ResponseSink(res, cometFraming), requestId: requestIdFor(res),
    socket: req.socket,
  });
  openStream(res, 'application/x-ndjson; charset=utf-8');
  if (req.method === 'HEAD') {
    stream.gone();
    res.end();
    return;
  }
  res.once('close', () => stream.gone());
  res.flushHeaders();
  stream.start();
}
