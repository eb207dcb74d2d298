/**
 * `GET /qst/<feed>`: QST v2's pull. The messages not acknowledged yet, oldest first, one page
 * (`?max=`), with an ETag naming the last; `etag=<that value>` acknowledges everything up to it
 * before the next page is read, so a consumer that sends back each ETag gets every message once,
 * and one that does not gets the same page again. The acknowledged position is the feed's consumer
 * group `qst` (`?group=` names another), shared with the group routes (DESIGN.md section 10).
 */
import type { Request, Response } from 'express';
import { messageOfJson, renderQstJson, renderQstXml } from '../../../atom/qst-write.js';
import type { FeedConfig } from '../../../config/feed-config.js';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { MAX_LIMIT } from '../../../names.js';
import { checkRef } from '../../../store/group-input.js';
import type { Change, Store } from '../../../store/store.js';
import type { AppContext } from '../../context.js';
import { requireFeed } from '../../feed-router.js';
import { holdUntil, watchFeed } from '../../long-poll.js';
import { queryParam, readWait, type WaitRequest } from '../../read-params.js';
import { integerQuery } from '../group-request.js';
import { statusOrDeclare } from '../group-state.js';

export const QST_GROUP = 'qst';

interface Pull {
  readonly feed: FeedConfig;
  readonly store: Store;
  readonly max: number;
  /** The acknowledged position: the page starts after it. */
  readonly after: number;
}

/** One page: the live messages after the position, and the seq of the last change it passed (tombstones too). */
interface Unacked {
  readonly changes: Change[];
  readonly last: number;
}

/** `etag=`: the ETag of an earlier answer, as sent (`"42"`) or bare (`42`); undefined when absent. */
function readEtag(req: Request): number | undefined {
  const text = queryParam(req, 'etag');
  if (text === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,16})"?$/.exec(text.trim());
  const seq = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(seq)) throw new AtomMQError('INVALID_PARAMETER', `etag ${quoted(text)} is not an ETag this endpoint gave`);
  return seq;
}

function readQstFormat(req: Request): 'xml' | 'json' {
  const format = queryParam(req, 'format') ?? 'xml';
  if (format !== 'xml' && format !== 'json') throw new AtomMQError('INVALID_PARAMETER', `format ${quoted(format)}: xml or json`);
  return format;
}

async function readUnacked(ctx: AppContext, pull: Pull): Promise<Unacked> {
  const changes: Change[] = [];
  let last = pull.after;
  for (let more = true; more && changes.length < pull.max;) {
    const page = await pull.store.readAfter(pull.feed.name, last, { limit: pull.max - changes.length, maxBytes: ctx.options.pageBytes, only: 'json' });
    for (const change of page.changes) if (!change.deleted) changes.push(change);
    last = page.changes.at(-1)?.seq ?? last;
    more = page.more;
  }
  return { changes, last };
}

/** Reads the page; when it is empty and the request may wait, holds it until news, then reads again. */
async function pullOrHold(ctx: AppContext, res: Response, pull: Pull, wait: WaitRequest | undefined): Promise<Unacked> {
  const empty = { changes: [], last: pull.after };
  // Registered before the read: a commit that lands between the read and the wait still wakes it.
  const watch = wait ? watchFeed(ctx.hub, pull.feed.name, pull.after, { consumer: true }) : undefined;
  try {
    const stopped = (): boolean => ctx.queues.stopped(pull.feed.name);
    const first = stopped() ? empty : await readUnacked(ctx, pull);
    if (first.changes.length > 0 || !watch) return first;
    const gone = new AbortController();
    const leave = (): void => gone.abort();
    res.once('close', leave);
    try {
      await holdUntil(watch.news, (wait as WaitRequest).seconds * 1000, [gone.signal, ctx.shutdown]);
    } finally {
      res.off('close', leave);
    }
    return stopped() || gone.signal.aborted ? empty : readUnacked(ctx, pull);
  } finally {
    watch?.stop();
  }
}

export async function getMessages(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const store = ctx.storeFor(feed);
  const ref = { feed: feed.name, group: queryParam(req, 'group') ?? QST_GROUP };
  checkRef(ref);
  const max = integerQuery(req, 'max', 1, MAX_LIMIT) ?? feed.pageSize;
  const format = readQstFormat(req);
  const etag = readEtag(req);
  const wait = readWait(req, feed);
  let { position } = await statusOrDeclare(store, ref, feed.groups[ref.group] ?? {});
  if (etag !== undefined && etag > position) {
    const { newestSeq } = await store.bounds(feed.name);
    if (etag > newestSeq) throw new AtomMQError('INVALID_PARAMETER', `etag "${etag}" names no message of feed "${feed.name}" (its newest is ${newestSeq})`);
    ({ position } = await store.groups.move({ ...ref, position: etag }));
  }
  const page = await pullOrHold(ctx, res, { feed, store, max, after: position }, wait);
  if (res.destroyed) return;
  const messages = page.changes.map((c) => messageOfJson(c.json));
  res.set({ ETag: `"${page.last}"`, 'Cache-Control': 'no-store' });
  if (format === 'json') res.type('application/json').send(renderQstJson(messages));
  else res.type('text/xml').send(renderQstXml(messages));
}
