/**
 * `POST /feeds/<feed>/groups/<group>/claims`: leases the group's next available messages to the
 * caller, lowest seq first, or holds the request until something becomes available or its wait ends.
 */
import type { Request, Response } from 'express';
import { jsonWithSeq } from '../../atom/finish-entry.js';
import { MEDIA } from '../../atom/media.js';
import { renderFeedXml, type PageItem } from '../../atom/render-feed.js';
import { GROUP_LIMITS, type ClaimedMessage, type ClaimRequest } from '../../store/groups.js';
import type { AppContext } from '../context.js';
import { readFormat, readWait, representationOf, type Format, type WaitRequest } from '../read-params.js';
import { sendParts } from '../respond.js';
import { holdUntil } from '../streams/long-poll.js';
import { waitForGroup } from './claim-wait.js';
import { groupRequest, integerQuery, type GroupRequest } from './group-request.js';

export async function postClaims(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const group = groupRequest(ctx, req);
  const format = readFormat(group.view);
  const request: ClaimRequest = {
    ...group.ref,
    limit: integerQuery(group.view, 'limit', 1, GROUP_LIMITS.batch) ?? 1,
    leaseSeconds: integerQuery(group.view, 'lease', 1, GROUP_LIMITS.seconds, ' of seconds'),
    // A group this claim creates gets the settings the feed file declares for it.
    settings: group.feed.groups[group.ref.group],
    only: representationOf(format),
  };
  const wait = readWait(group.view, group.feed);
  if (wait?.preferred) res.set('Preference-Applied', `wait=${wait.seconds}`);
  res.set('Cache-Control', 'no-store').vary('Accept').vary('Prefer');
  const messages = await claimOrHold(ctx, res, group, request, wait);
  if (res.destroyed) return;
  await sendClaimed(ctx, req, res, group, messages, format);
}

/**
 * Claims; when nothing is available and the request may wait, waits for news of the group and
 * claims again, until something is leased, the wait ends, the client leaves or the server shuts down.
 * The wait is registered before each claim, so news that lands in between is never missed.
 */
async function claimOrHold(ctx: AppContext, res: Response, group: GroupRequest, request: ClaimRequest,
  wait: WaitRequest | undefined): Promise<readonly ClaimedMessage[]> {
  const deadline = Date.now() + (wait?.seconds ?? 0) * 1000;
  const gone = new AbortController();
  const leave = (): void => gone.abort();
  res.once('close', leave);
  try {
    for (;;) {
      const news = wait && !ctx.shutdown.aborted ? waitForGroup(ctx.hub, group.store, group.ref) : undefined;
      try {
        // A stopped queue hands nothing out; resuming it is news for the wait.
        const { messages, nextDue } = ctx.queues.stopped(group.ref.feed)
          ? { messages: [], nextDue: undefined }
          : await group.store.groups.claim(request);
        const left = deadline - Date.now();
        if (messages.length > 0 || !news || left <= 0 || gone.signal.aborted) return messages;
        news.due(nextDue);
        await holdUntil(news.news, left, [gone.signal, ctx.shutdown]);
        if (gone.signal.aborted || ctx.shutdown.aborted) return [];
      } finally {
        news?.stop();
      }
    }
  } finally {
    // Every response closes once answered: only a close during the wait means the client left.
    res.off('close', leave);
  }
}

/** A leased message with what its consumer needs to settle it, as AtomMQ elements. */
function claimed(message: ClaimedMessage): PageItem {
  return {
    seq: message.seq,
    deleted: message.deleted,
    rendered: message,
    am: { receipt: message.receipt, deliveries: message.deliveries, 'lease-expires': new Date(message.leaseExpires).toISOString() },
  };
}

/** The leased messages: an Atom feed whose entries carry their receipts, or `{feed, group, messages}`. */
async function sendClaimed(ctx: AppContext, req: Request, res: Response, group: GroupRequest,
  messages: readonly ClaimedMessage[], format: Format): Promise<void> {
  const items = messages.map(claimed);
  if (format === 'json') {
    res.type(MEDIA.json);
    const head = `{"feed":${JSON.stringify(group.ref.feed)},"group":${JSON.stringify(group.ref.group)},"messages":[`;
    await sendParts(res, [head, items.map((i) => jsonWithSeq(i.rendered, i.seq, i.am)).join(','), ']}']);
    return;
  }
  const search = req.originalUrl.indexOf('?');
  res.type(MEDIA.feed);
  await sendParts(res, renderFeedXml({
    feed: group.feed,
    base: group.view.baseUrl(),
    selfPath: req.path.slice(1) + (search < 0 ? '' : req.originalUrl.slice(search)),
    updated: messages.reduce((newest, m) => (m.edited > newest ? m.edited : newest), ctx.startedAt),
    items,
    lastid: messages.at(-1)?.seq ?? 0,
  }));
}
