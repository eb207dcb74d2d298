/**
 * A group's dead letters: `GET …/dead`, a feed in the cursor view of the messages that were
 * delivered maxDeliveries times without an ack, and `POST …/dead/requeue`, which puts them back.
 */
import type { Request, Response } from 'express';
import { MEDIA } from '../../atom/media.js';
import { renderFeedJson, renderFeedXml, type PageItem } from '../../atom/render-feed.js';
import type { DeadMessage } from '../../store/groups.js';
import type { AppContext } from '../context.js';
import { readCursor, readFormat, readLimit, representationOf } from '../read-params.js';
import { sendParts } from '../respond.js';
import { groupRequest, readGroupBody } from './group-request.js';

/** A dead letter with how often it was delivered and why its last delivery failed, as AtomMQ elements. */
function dead(message: DeadMessage): PageItem {
  return {
    seq: message.seq,
    deleted: message.deleted,
    rendered: message,
    am: { deliveries: message.deliveries, ...(message.reason === undefined ? {} : { reason: message.reason }) },
  };
}

/**
 * One page of dead letters after the cursor (`Xlastid` or `?lastid=`, 0 when absent), oldest first.
 * A full page links to the next one; the `Xlastid` header is the cursor to resume from.
 */
export async function getDead(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { feed, store, ref, view } = groupRequest(ctx, req);
  const cursor = await readCursor(view, feed, store) ?? 0;
  const limit = readLimit(view, feed);
  const format = readFormat(view);
  const letters = await store.groups.readDead(ref, cursor, limit, representationOf(format));
  const lastid = letters.at(-1)?.seq ?? cursor;
  const path = `feeds/${ref.feed}/groups/${ref.group}/dead`;
  const query = (position: number): string => {
    const params = new URLSearchParams({ lastid: String(position) });
    if (limit !== feed.pageSize) params.set('limit', String(limit));
    if (format === 'json') params.set('format', 'json');
    return `${path}?${params}`;
  };
  const base = view.baseUrl();
  const nextPath = letters.length === limit ? query(lastid) : undefined;
  res.set({ Xlastid: String(lastid), 'Cache-Control': 'no-store' }).vary('Accept').vary('Xlastid');
  if (nextPath) res.set('Link', `<${base}${nextPath}>; rel="next"`);
  res.type(format === 'json' ? MEDIA.json : MEDIA.feed);
  const page = {
    feed, base, nextPath, lastid,
    selfPath: query(cursor),
    updated: letters.reduce((newest, m) => (m.edited > newest ? m.edited : newest), ctx.startedAt),
    items: letters.map(dead),
  };
  await sendParts(res, format === 'json' ? renderFeedJson(page) : renderFeedXml(page));
}

/** Puts dead letters back in the group: all of them for `{}`, or those of `{"seqs": […]}`. */
export async function postRequeue(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { store, ref } = groupRequest(ctx, req);
  const body = readGroupBody(req, ['seqs']);
  // The store checks that seqs is a list of seqs.
  const { requeued, notDead } = await store.groups.requeue({ ...ref, seqs: body.seqs as number[] | undefined });
  res.set('Cache-Control', 'no-store').json({ requeued, notDead });
}
