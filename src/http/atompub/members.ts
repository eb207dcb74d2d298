/** Member entries: `GET`, `PUT` and `DELETE /feeds/<name>/entries/<key>`, and the answer that carries one. */
import type { Request, Response } from 'express';
import { jsonWithSeq, withXmlBase, xmlWithSeq } from '../../atom/finish-entry.js';
import { MEDIA } from '../../atom/media.js';
import type { FeedConfig } from '../../config/feed-config.js';
import { AtomMQError } from '../../errors/index.js';
import type { StoredEntry } from '../../store/store.js';
import { requireFeed, type AppContext } from '../context.js';
import { scheduleStamp, storedSchedule } from '../queues/schedule.js';
import { readFormat, type Format } from '../read-params.js';
import { requestView, type RequestView } from '../request-view.js';
import { headerMediaType, sendWhole } from '../respond.js';
import { isJsonBody, readEntry } from './entry-body.js';
import { entityTags, entryEtag, noneMatch } from './pages.js';
import { entryRevision, tombstoneRevision } from './revision.js';

const ENTRY_TYPE = headerMediaType(MEDIA.entry);
const JSON_TYPE = headerMediaType(MEDIA.json);

/** Sends one stored entry in the asked format, with the headers a worker or AtomPub client uses, after `first`. */
export function sendEntry(res: Response, entry: StoredEntry, format: Format, base: string, status = 200, first: Record<string, string> = {}): void {
  const json = format === 'json';
  const body = json ? jsonWithSeq(entry, entry.seq)
    : `<?xml version="1.0" encoding="UTF-8"?>\n${withXmlBase(xmlWithSeq(entry, entry.seq, entry.deleted), base)}`;
  // Appended to what is there (CORS's Origin): writeHead would replace a Vary set before it.
  res.vary('Accept');
  sendWhole(res, status, {
    ...first, ETag: entryEtag(entry), Xlastid: String(entry.seq), 'Content-Type': json ? JSON_TYPE : ENTRY_TYPE,
  }, body);
}

function keyOf(req: Request): string {
  const key = req.params.key;
  if (typeof key !== 'string') throw new AtomMQError('ENTRY_NOT_FOUND', 'no entry key in the URL');
  return key;
}

/** An entity-tag (RFC 9110 8.8.3): optionally weak, then an opaque quoted string. */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/** If-Match as the versions it accepts; undefined when there is none, or `*` (any existing version). */
function expectedSeqs(req: RequestView): number[] | undefined {
  const header = req.header('if-match');
  if (header === undefined || header.trim() === '*') return undefined;
  const tags = entityTags(header);
  // A condition the server cannot read must not turn into no condition at all (a lost update).
  if (tags.length === 0 || !tags.every((t) => ENTITY_TAG.test(t))) {
    throw new AtomMQError('INVALID_HEADER', `If-Match "${header.slice(0, 100)}" is not "*" or a list of entity tags such as "42"`);
  }
  // Strong comparison (RFC 9110 13.1.1): weak tags never match, so they fail with 412 as they should.
  return tags.flatMap((t) => /^"(\d+)"$/.exec(t)?.[1] ?? []).map(Number);
}

function refuseIfImmutable(feed: FeedConfig): void {
  if (feed.immutable) {
    throw new AtomMQError('METHOD_NOT_ALLOWED', `feed "${feed.name}" is immutable: its entries cannot be changed or deleted`, { headers: { Allow: 'GET, HEAD' } });
  }
}

/** The live entry a request names: 404 if it never existed, 410 if it was deleted. */
export async function requireEntry(ctx: AppContext, feed: FeedConfig, req: Request): Promise<StoredEntry> {
  const key = keyOf(req);
  const entry = await ctx.storeFor(feed).get(feed.name, key);
  if (!entry) throw new AtomMQError('ENTRY_NOT_FOUND', `feed "${feed.name}" has no entry "${key}"`);
  if (entry.deleted) throw new AtomMQError('ENTRY_GONE', `entry "${key}" of feed "${feed.name}" was deleted at seq ${entry.seq}`);
  return entry;
}

export async function getMember(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const entry = await requireEntry(ctx, feed, req);
  const view = requestView(ctx, req);
  if (noneMatch(view, entryEtag(entry))) {
    res.status(304).vary('Accept').set({ ETag: entryEtag(entry), Xlastid: String(entry.seq) }).end();
    return;
  }
  sendEntry(res, entry, readFormat(view), view.baseUrl());
}

/** PUT replaces the entry and re-appends it at a new seq, so cursor readers see the edit. */
export async function putMember(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const view = requestView(ctx, req);
  refuseIfImmutable(feed);
  const entry = readEntry(req);
  const current = await requireEntry(ctx, feed, req);
  const schedule = storedSchedule(current);
  const stored = await ctx.storeFor(feed).replace({
    feed: feed.name,
    key: current.key,
    expectedSeqs: expectedSeqs(view),
    revision: entryRevision(feed, entry, current, new Date().toISOString(), scheduleStamp(schedule)),
    ...schedule,
  });
  sendEntry(res, stored, readFormat(view, isJsonBody(req) ? 'json' : 'atom'), view.baseUrl());
}

/** DELETE appends an RFC 6721 tombstone at a new seq, so cursor readers learn of the deletion. */
export async function deleteMember(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  refuseIfImmutable(feed);
  const current = await requireEntry(ctx, feed, req);
  const tombstone = await ctx.storeFor(feed).remove({
    feed: feed.name,
    key: current.key,
    expectedSeqs: expectedSeqs(requestView(ctx, req)),
    revision: tombstoneRevision(feed, current, new Date().toISOString()),
  });
  res.status(204).set('Xlastid', String(tombstone.seq)).end();
}
