import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderFeedJson, renderFeedXml, type FeedPage } from '../../atom/render-feed.js';
import type { FeedConfig } from '../../config/feed-config.js';
import { AtomMQError } from '../../errors/index.js';
import type { Page } from '../../store/store.js';
import type { AppContext } from '../context.js';
import { entryBodyParser, isJsonBody, readEntry } from './entry-body.js';
import { methodNotAllowed } from '../error-handler.js';
import { holdUntil, watchFeed } from '../streams/long-poll.js';
import {
  readBefore, readCursor, readFormat, readLimit, readWait, representationOf, type Format, type WaitRequest,
} from '../read-params.js';
import { noneMatch, sendEntry, sendParts } from '../respond.js';
import { entryFingerprint, entryRevision, newEntryUuid, slugKey } from './revision.js';
import { streamEvents, wantsEventStream } from '../streams/sse.js';
import { requestView, type HttpRequestView } from '../request-view.js';
import { feedPath, memberPath } from '../urls.js';

/** The feed a request names, or a 404 naming it. */
export function requireFeed(ctx: AppContext, req: Request): FeedConfig {
  return feedNamed(ctx, req.params.name);
}

/** The feed of that name, or a 404 naming it. */
export function feedNamed(ctx: AppContext, name: unknown): FeedConfig {
  const feed = typeof name === 'string' ? ctx.feeds.get(name) : undefined;
  if (!feed) throw new AtomMQError('FEED_NOT_FOUND', `no feed named "${String(name)}"; GET / lists the feeds`);
  return feed;
}

const configVersions = new WeakMap<FeedConfig, string>();

/** A feed's configuration is part of every page (title, author), so a change to it must change the ETag. */
function configVersion(feed: FeedConfig): string {
  let version = configVersions.get(feed);
  if (version === undefined) configVersions.set(feed, (version = JSON.stringify(feed)));
  return version;
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(key)) {
    throw new AtomMQError('BAD_REQUEST', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  return key;
}

/** Which page a GET asks for, and in what form. */
interface PageSpec {
  readonly cursor: number | undefined;
  readonly before: number | undefined;
  readonly limit: number;
  readonly format: Format;
}

function pagePath(feed: FeedConfig, spec: PageSpec, position: Record<string, number>): string {
  const query = new URLSearchParams(Object.entries(position).map(([k, v]) => [k, String(v)]));
  if (spec.limit !== feed.pageSize) query.set('limit', String(spec.limit));
  if (spec.format === 'json') query.set('format', 'json');
  return `${feedPath(feed.name)}?${query}`;
}

/**
 * Reads one page. Cursor view: changes after the cursor, oldest first, tombstones included.
 * Collection view: live entries, newest first. A page holds `limit` entries, or fewer when they
 * would exceed the page's size; its next link then starts after the last entry it holds.
 */
function readPage(ctx: AppContext, feed: FeedConfig, spec: PageSpec): Promise<Page> {
  const store = ctx.storeFor(feed);
  const request = { limit: spec.limit, maxBytes: ctx.options.pageBytes, only: representationOf(spec.format) };
  return spec.cursor !== undefined
    ? store.readAfter(feed.name, spec.cursor, request)
    : store.readBefore(feed.name, spec.before, request);
}

async function sendPage(req: Request, res: Response, view: HttpRequestView, feed: FeedConfig, spec: PageSpec,
  page: Page, lastid: number, updated: string): Promise<void> {
  const last = page.changes.at(-1);
  const nextPath = page.more && last
    ? pagePath(feed, spec, spec.cursor !== undefined ? { lastid: last.seq } : { before: last.seq })
    : undefined;
  const base = view.baseUrl();
  const search = req.originalUrl.indexOf('?');
  const doc: FeedPage = {
    feed, base, nextPath, lastid,
    selfPath: feedPath(feed.name) + (search < 0 ? '' : req.originalUrl.slice(search)),
    updated: page.changes.reduce((newest, e) => (e.edited > newest ? e.edited : newest), updated),
    items: page.changes.map((e) => ({ seq: e.seq, deleted: e.deleted, rendered: e })),
  };
  res.set('Xlastid', String(lastid));
  if (nextPath) res.set('Link', `<${base}${nextPath}>; rel="next"`);
  res.type(spec.format === 'json' ? MEDIA.json : MEDIA.feed);
  await sendParts(res, spec.format === 'json' ? renderFeedJson(doc) : renderFeedXml(doc));
}

/**
 * A cursor read that may wait: answered at once when there is news, otherwise held until the hub
 * reports a commit beyond the cursor, the wait runs out, the client leaves or the server shuts down.
 */
async function longPoll(ctx: AppContext, req: Request, res: Response, view: HttpRequestView, feed: FeedConfig,
  spec: PageSpec, cursor: number, wait: WaitRequest): Promise<void> {
  const store = ctx.storeFor(feed);
  if (wait.preferred) res.set('Preference-Applied', `wait=${wait.seconds}`);
  const watch = watchFeed(ctx.hub, feed.name, cursor);
  try {
    let page = await readPage(ctx, feed, spec);
    if (page.changes.length === 0) {
      const gone = new AbortController();
      const leave = (): void => gone.abort();
      res.once('close', leave);
      try {
        await holdUntil(watch.news, wait.seconds * 1000, [gone.signal, ctx.shutdown]);
      } finally {
        // Every response closes once answered: only a close during the wait means the client left.
        res.off('close', leave);
      }
      if (gone.signal.aborted) return;
      page = await readPage(ctx, feed, spec);
    }
    const bounds = await store.bounds(feed.name);
    await sendPage(req, res, view, feed, spec, page, page.changes.at(-1)?.seq ?? cursor, bounds.newestEdited ?? ctx.startedAt);
  } finally {
    watch.stop();
  }
}

/** `GET /feeds/<name>`: the collection view, the cursor view, and long-polling on the cursor view. */
async function getFeed(ctx: AppContext, req: Request, res: Response): Promise<void> {
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
  res.set('Vary', 'Accept, Xlastid, Prefer');
  res.set('Cache-Control', 'no-cache');
  if (cursor !== undefined && wait) {
    await longPoll(ctx, req, res, view, feed, spec, cursor, wait);
    return;
  }

  const bounds = await store.bounds(feed.name);
  // Any commit to the feed moves newestSeq and retention moves oldestSeq, so together with the
  // request, the page size and the feed's configuration they identify the bytes of this page
  // without rendering it.
  const etag = `W/"${createHash('sha1')
    .update(`${bounds.newestSeq}:${bounds.oldestSeq}:${spec.cursor}:${spec.before}:${spec.limit}:${ctx.options.pageBytes}:${spec.format}:${configVersion(feed)}`)
    .digest('base64url').slice(0, 20)}"`;
  const lastidIfEmpty = cursor ?? bounds.newestSeq;
  res.set('ETag', etag);
  if (noneMatch(view, etag)) {
    res.status(304).set('Xlastid', String(lastidIfEmpty)).end();
    return;
  }
  const page = await readPage(ctx, feed, spec);
  const lastid = cursor === undefined ? bounds.newestSeq : page.changes.at(-1)?.seq ?? cursor;
  await sendPage(req, res, view, feed, spec, page, lastid, bounds.newestEdited ?? ctx.startedAt);
}

/**
 * `POST /feeds/<name>`: publishes one entry. A retry (a known Idempotency-Key or client atom:id, with
 * the same entry) creates nothing; another entry under either name is a 409.
 */
async function postEntry(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const view = requestView(ctx, req);
  const entry = readEntry(req);
  const format = readFormat(view, isJsonBody(req) ? 'json' : 'atom');
  const uuid = newEntryUuid();
  const now = new Date().toISOString();
  const slug = slugKey(req.get('slug'));
  // The Slug's key if it is free, else the UUID's: the store picks inside its transaction.
  const candidates = [...(slug === undefined ? [] : [slug]), uuid].map((key) => ({
    key, revision: entryRevision(feed, entry, { key, atomId: `urn:uuid:${uuid}`, published: now }, now),
  }));
  const key = idempotencyKey(req);
  const { created, entry: stored } = await ctx.storeFor(feed).append({
    feed: feed.name,
    candidates,
    retry: key === undefined && entry.clientId === undefined ? undefined
      : { idempotencyKey: key, clientId: entry.clientId, fingerprint: entryFingerprint(entry) },
  });
  if (stored.deleted) {
    throw new AtomMQError('ENTRY_GONE', `this entry was already published as "${stored.key}" and has since been deleted`);
  }
  const base = view.baseUrl();
  const location = base + memberPath(feed.name, stored.key);
  res.set({ Location: location, 'Content-Location': location });
  sendEntry(res, stored, format, base, created ? 201 : 200);
}

export function feedRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/feeds/:name', (req, res) => getFeed(ctx, req, res));
  router.post('/feeds/:name', entryBodyParser(ctx.options.bodyLimit), (req, res) => postEntry(ctx, req, res));
  router.all('/feeds/:name', methodNotAllowed('GET, HEAD, POST'));
  return router;
}
