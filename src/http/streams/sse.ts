import type { Request, Response } from 'express';
import type { FeedConfig } from '../../config/feed-config.js';
import type { Change, Gap } from '../../store/store.js';
import { requestIdFor } from '../access-log.js';
import type { AppContext } from '../context.js';
import { FeedStream } from './feed-stream.js';
import type { StreamEnd } from './stream-end.js';
import { gapJson, renderChange } from './stream-frames.js';
import { openStream, ResponseSink, type ResponseFraming } from './response-sink.js';
import { readFormat, readStreamCursor, type Format } from '../read-params.js';
import type { HttpRequestView } from '../request-view.js';

export const EVENT_STREAM = 'text/event-stream';

/** How long an EventSource waits before reconnecting (the `retry:` field). */
const RETRY_MS = 2000;

/** True when the client prefers server-sent events to a feed document (an EventSource sends `Accept: text/event-stream`). */
export function wantsEventStream(req: HttpRequestView): boolean {
  return req.accepts(['application/atom+xml', 'application/xml', 'application/json', EVENT_STREAM]) === EVENT_STREAM;
}

/** `data:` lines: a line break inside the data would end the field, so each line gets its own. */
function dataLines(text: string): string {
  return `data: ${text.split(/\r\n|\r|\n/).join('\ndata: ')}\n`;
}

const framings = new Map<string, ResponseFraming>();

/** One framing per format and base URL, shared by the streams that use it (a few Host names at most are kept). */
function sseFraming(format: Format, base: string): ResponseFraming {
  const kind = `sse ${format} ${base}`;
  let framing = framings.get(kind);
  if (!framing) {
    framing = makeFraming(kind, format, base);
    if (framings.size < 64) framings.set(kind, framing);
  }
  return framing;
}

function makeFraming(kind: string, format: Format, base: string): ResponseFraming {
  return {
    kind,
    frame: (change: Change) => `id: ${change.seq}\n${dataLines(renderChange(change, format, base))}\n`,
    gap: (gap: Gap) => `event: gap\ndata: ${gapJson(gap)}\n\n`,
    heartbeat: ': keep-alive\n\n',
    closing: (reason: StreamEnd) => `event: closing\n${dataLines(JSON.stringify(reason))}\n`,
  };
}

/**
 * `GET /feeds/<name>` with `Accept: text/event-stream`: the backlog after the cursor
 * (`Last-Event-ID`, `Xlastid` or `?lastid=`), then live changes; each event's `id:` is the seq and
 * its data the entry (Atom, or JSON with `?format=json`). Without a cursor, live changes only.
 */
export async function streamEvents(ctx: AppContext, req: Request, res: Response, view: HttpRequestView,
  feed: FeedConfig): Promise<void> {
  const cursor = await readStreamCursor(view, feed, ctx.storeFor(feed));
  const format = readFormat(view);
  const sink = new ResponseSink(res, sseFraming(format, view.baseUrl()));
  const stream = new FeedStream(ctx, { transport: 'sse', feed, cursor, format, sink, requestId: requestIdFor(res), socket: req.socket });
  openStream(res, `${EVENT_STREAM}; charset=utf-8`);
  if (req.method === 'HEAD') {
    stream.gone();
    res.end();
    return;
  }
  res.once('close', () => stream.gone());
  res.write(`retry: ${RETRY_MS}\n\n`);
  stream.start();
}
