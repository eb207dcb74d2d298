import type { Request, Response } from 'express';
import type { FeedConfig } from '../../config/feed-config.js';
import type { Store } from '../../store/store.js';
import { requireFeed, type AppContext } from '../context.js';
import { readBefore, readCursor, readFormat, readLimit, readWait, type WaitRequest } from '../read-params.js';
import { requestView, type HttpRequestView } from '../request-view.js';
import { longPoll } from '../streams/long-poll.js';
import { streamEvents, wantsEventStream } from '../streams/sse.js';
import { noneMatch, pageEtag, readPage, sendPage, type PageSpec } from './pages.js';

/** A cursor read with a wait: held while nothing follows the cursor, then answered like any other. */
async function sendWhenNews(ctx: AppContext, req: Request, res: Response, view: HttpRequestView, feed: FeedConfig,
  spec: PageSpec & { cursor: number }, wait: WaitRequest): Promise<void> {
  const page = await longPoll(ctx, res, feed.name, spec.cursor, wait, () => readPage(ctx, feed, spec), (p) => p.changes.length > 0 || p.gap !== undefined);
  if (!page) return;
  await sendPage(ctx, req, res, view, feed, spec, page,
    { lastid: page.changes.at(-1)?.seq ?? spec.cursor, updated: page.bounds.newestEdited ?? ctx.startedAt });
}

/** A page answered at once, or 304 when the client's copy (If-None-Match) is still the page. */
async function sendNow(ctx: AppContext, req: Request, res: Response, view: HttpRequestView, feed: FeedConfig,
  store: Store, spec: PageSpec): Promise<void> {
  // A client that holds a copy is answered from the bounds alone while its copy is current.
  if (view.header('if-none-match') !== undefined) {
    const bounds = await store.bounds(feed.name);
    const etag = pageEtag(ctx, feed, spec, bounds);
    if (noneMatch(view, etag)) {
      res.status(304).set({ ETag: etag, Xlastid: String(spec.cursor ?? bounds.newestSeq) }).end();
      return;
    }
  }
  // The page's own bounds, from its snapshot: they name exactly the page sent.
  const page = await readPage(ctx, feed, spec);
  const { bounds } = page;
  res.set('ETag', pageEtag(ctx, feed, spec, bounds));
  const lastid = spec.cursor === undefined ? bounds.newestSeq : page.changes.at(-1)?.seq ?? spec.cursor;
  await sendPage(ctx, req, res, view, feed, spec, page, { lastid, updated: bounds.newestEdited ?? ctx.startedAt });
}

/**
 * `GET /feeds/<name>`: the collection view, the cursor view, long-polling on the cursor view, and
 * server-sent events for a client that asks for them.
 */
export async function getFeed(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const view = requestView(ctx, req);
  if (wantsEventStream(view)) {
    await streamEvents(ctx, req, res, view, feed);
    return;
  }
  const store = ctx.storeFor(feed);
  const cursor = await readCursor(view, feed, store);
  const spec: PageSpec = {
    cursor,
    before: cursor === undefined ? readBefore(view) : undefined,
    limit: readLimit(view, feed),
    format: readFormat(view),
  };
  const wait = cursor === undefined ? undefined : readWait(view, feed);
  res.vary('Accept').vary('Xlastid').vary('Prefer');
  res.set('Cache-Control', 'no-cache');
  if (cursor !== undefined && wait) await sendWhenNews(ctx, req, res, view, feed, { ...spec, cursor }, wait);
  else await sendNow(ctx, req, res, view, feed, store, spec);
}
