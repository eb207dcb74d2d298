/** Pages of a feed (reading, sending) and the entity tags that validate feeds and entries. */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderFeedJson, renderFeedXml, type FeedPage } from '../../atom/render-feed.js';
import type { FeedConfig } from '../../config/feed-config.js';
import type { FeedBounds, Page, StoredEntry } from '../../store/store.js';
import type { AppContext } from '../context.js';
import { representationOf, type Format } from '../read-params.js';
import type { RequestView } from '../request-view.js';
import { sendParts } from '../respond.js';
import { feedPagePath, feedPath } from '../urls.js';

/** Names the seqs retention removed before the reader read them: `<first>-<last>`. */
export const GAP_HEADER = 'AtomMQ-Gap';

/** Which page a GET asks for, and in what form. */
export interface PageSpec {
  /** The cursor view's position; undefined for the collection view. */
  readonly cursor: number | undefined;
  /** The collection view's position: entries older than this seq. */
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
 * Reads one page, with its feed's bounds. Cursor view: changes after the cursor, oldest first,
 * tombstones included. Collection view: live entries, newest first. A page holds `limit` entries,
 * or fewer when they would exceed the page's size; its next link then starts after the last entry
 * it holds.
 */
export async function readPage(ctx: AppContext, feed: FeedConfig, spec: PageSpec): Promise<BoundedPage> {
  const store = ctx.storeFor(feed);
  const request = { limit: spec.limit, maxBytes: ctx.options.pageBytes, only: representationOf(spec.format), withBounds: true };
  const page = spec.cursor !== undefined
    ? await store.readAfter(feed.name, spec.cursor, request)
    : await store.readBefore(feed.name, spec.before, request);
  if (!page.bounds) throw new Error(`the store read no bounds with a page of feed ${feed.name}`);
  return page as BoundedPage;
}

/** A page read with its feed's bounds, which give its ETag and atom:updated. */
export type BoundedPage = Page & { readonly bounds: FeedBounds };

/** What a page says of itself besides its entries. */
export interface PageHead {
  /** The `Xlastid` header: the cursor a worker persists. */
  readonly lastid: number;
  /** The feed's atom:updated when the page holds nothing newer. */
  readonly updated: string;
}

/** Sends a page as an Atom feed or JSON, with its `Xlastid` and, when more follows, its next link. */
export async function sendPage(ctx: AppContext, req: Request, res: Response, view: RequestView, feed: FeedConfig, spec: PageSpec,
  page: Page, head: PageHead): Promise<void> {
  const last = page.changes.at(-1);
  const nextPath = page.more && last
    ? pagePath(feed, spec, spec.cursor !== undefined ? { lastid: last.seq } : { before: last.seq })
    : undefined;
  const base = view.baseUrl();
  const search = req.originalUrl.indexOf('?');
  const doc: FeedPage = {
    feed, base, nextPath, lastid: head.lastid, pagePath: feedPagePath(feed.name),
    selfPath: feedPath(feed.name) + (search < 0 ? '' : req.originalUrl.slice(search)),
    updated: page.changes.reduce((newest, e) => (e.edited > newest ? e.edited : newest), head.updated),
    items: page.changes.map((e) => ({ seq: e.seq, deleted: e.deleted, rendered: e })),
    gap: page.gap,
  };
  res.set('Xlastid', String(head.lastid));
  if (page.gap) res.set(GAP_HEADER, `${page.gap.from}-${page.gap.to}`);
  if (nextPath) res.set('Link', `<${base}${nextPath}>; rel="next"`);
  res.type(spec.format === 'json' ? MEDIA.json : MEDIA.feed);
  const sent = spec.format === 'json' ? 'json' : 'xml';
  ctx.metrics?.read(feed.name, page.changes.length, page.changes.reduce((bytes, e) => bytes + e[sent].length, 0));
  await sendParts(res, spec.format === 'json' ? renderFeedJson(doc) : renderFeedXml(doc));
}

const configVersions = new WeakMap<FeedConfig, string>();

/** A feed's configuration is part of every page (title, author), so a change to it must change the ETag. */
function configVersion(feed: FeedConfig): string {
  let version = configVersions.get(feed);
  if (version === undefined) configVersions.set(feed, (version = JSON.stringify(feed)));
  return version;
}

/**
 * A page's ETag, known without reading the page: any commit to the feed moves newestSeq and
 * retention moves `pruned`, so together with the request, the page size and the feed's
 * configuration they identify the bytes of the page.
 */
export function pageEtag(ctx: AppContext, feed: FeedConfig, spec: PageSpec, bounds: FeedBounds): string {
  return `W/"${createHash('sha1')
    .update(`${bounds.newestSeq}:${bounds.oldestSeq}:${bounds.pruned}:${spec.cursor}:${spec.before}:${spec.limit}:${ctx.options.pageBytes}:${spec.format}:${configVersion(feed)}`)
    .digest('base64url').slice(0, 20)}"`;
}

/** An entry's ETag is its seq: every change gets a new seq, so the seq names the version exactly. */
export function entryEtag(entry: StoredEntry): string {
  return `"${entry.seq}"`;
}

/** Parses If-Match / If-None-Match into entity tags; `*` stays as it is. */
export function entityTags(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header.split(',').map((t) => t.trim()).filter(Boolean);
}

/** If-None-Match uses the weak comparison (RFC 9110 13.1.2). */
export function noneMatch(req: RequestView, etag: string): boolean {
  const tags = entityTags(req.header('if-none-match'));
  const opaque = (t: string): string => t.replace(/^W\//, '');
  return tags.includes('*') || tags.some((t) => opaque(t) === opaque(etag));
}
