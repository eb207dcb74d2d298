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
import { requireFeed, type AppContext } from '../../context.js';
import { readWait } from '../../read-params.js';
import { requestView, type RequestView } from '../../request-view.js';
import { longPoll } from '../../streams/long-poll.js';
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
function readEtag(view: RequestView): number | undefined {
  const text = view.query('etag');
  if (text === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,16})"?$/.exec(text.trim());
  const seq = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(seq)) throw new AtomMQError('INVALID_PARAMETER', `etag ${quoted(text)} is not an ETag this endpoint gave`);
  return seq;
}

function readQstFormat(view: RequestView): 'xml' | 'json' {
  const format = view.query('format') ?? 'xml';
  if (format !== 'xml' && format !== 'json') throw new AtomMQError('INVALID_PARAMETER', `format ${quoted(format)}: xml or json`);
  return format;
}

/**
 * One page after the position, bounded in count and in size as a feed page is; a page of nothing
 * but tombstones is passed over, so that an answer is empty only when nothing is left.
 */
async function readUnacked(ctx: AppContext, pull: Pull): Promise<Unacked> {
  const changes: Change[] = [];
  let last = pull.after;
  for (let more = true; more && changes.length === 0;) {
    const page = await pull.store.readAfter(pull.feed.name, last, { limit: pull.max, maxBytes: ctx.options.pageBytes, only: 'json' });
    for (const change of page.changes) if (!change.deleted) changes.push(change);
    last = page.changes.at(-1)?.seq ?? last;
    more = page.more;
  }
  return { changes, last };
}

export async function getMessages(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const view = requestView(ctx, req);
  const store = ctx.storeFor(feed);
  const ref = { feed: feed.name, group: view.query('group') ?? QST_GROUP };
  checkRef(ref);
  const max = integerQuery(view, 'max', 1, MAX_LIMIT) ?? feed.pageSize;
  const format = readQstFormat(view);
  const etag = readEtag(view);
  const wait = readWait(view, feed);
  let { position } = await statusOrDeclare(store, ref, feed.groups[ref.group] ?? {});
  if (etag !== undefined && etag > position) {
    const { newestSeq } = await store.bounds(feed.name);
    if (etag > newestSeq) throw new AtomMQError('INVALID_PARAMETER', `etag "${etag}" names no message of feed "${feed.name}" (its newest is ${newestSeq})`);
    ({ position } = await store.groups.move({ ...ref, position: etag }));
  }
  const pull: Pull = { feed, store, max, after: position };
  // A stopped queue hands nothing out; resuming it is news for a held pull.
  const read = (): Promise<Unacked> => (ctx.queues.stopped(feed.name) ? Promise.resolve({ changes: [], last: position }) : readUnacked(ctx, pull));
  const page = wait ? await longPoll(ctx, res, feed.name, position, wait, read, (p) => p.changes.length > 0, { consumer: true }) : await read();
  if (!page || res.destroyed) return;
  const messages = page.changes.map((c) => messageOfJson(c.json));
  res.set({ ETag: `"${page.last}"`, 'Cache-Control': 'no-store' });
  if (format === 'json') res.type('application/json').send(renderQstJson(messages));
  else res.type('text/xml').send(renderQstXml(messages));
}
