import type { Request, Response } from 'express';
import { AtomMQError } from '../../errors/index.js';
import { requireFeed, type AppContext } from '../context.js';
import { readFormat } from '../read-params.js';
import { requestView, type RequestView } from '../request-view.js';
import { memberPath } from '../urls.js';
import { readSchedule, scheduleStamp, SCHEDULE_FIELDS } from '../queues/schedule.js';
import { isJsonBody, readEntryWith } from './entry-body.js';
import { sendEntry } from './members.js';
import { entryFingerprint, entryRevision, newEntryUuid, slugKey } from './revision.js';

function idempotencyKey(req: RequestView): string | undefined {
  const key = req.header('idempotency-key');
  if (key !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(key)) {
    throw new AtomMQError('BAD_REQUEST', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  return key;
}

/**
 * `POST /feeds/<name>`: publishes one entry. A retry (a known Idempotency-Key or client atom:id, with
 * the same entry) creates nothing; another entry under either name is a 409.
 */
export async function postEntry(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const view = requestView(ctx, req);
  const { entry, taken } = readEntryWith(req, SCHEDULE_FIELDS);
  const format = readFormat(view, isJsonBody(req) ? 'json' : 'atom');
  const uuid = newEntryUuid();
  const clock = Date.now();
  const now = new Date(clock).toISOString();
  const schedule = readSchedule(view, taken, clock);
  const slug = slugKey(view.header('slug'));
  // The Slug's key if it is free, else the UUID's: the store picks inside its transaction.
  const candidates = [...(slug === undefined ? [] : [slug]), uuid].map((key) => ({
    key, revision: entryRevision(feed, entry, { key, atomId: `urn:uuid:${uuid}`, published: now }, now, scheduleStamp(schedule)),
  }));
  const key = idempotencyKey(view);
  const { created, entry: stored } = await ctx.storeFor(feed).append({
    feed: feed.name,
    candidates,
    ...schedule,
    retry: key === undefined && entry.clientId === undefined ? undefined
      : { idempotencyKey: key, clientId: entry.clientId, fingerprint: entryFingerprint(entry) },
  });
  if (stored.deleted) {
    throw new AtomMQError('ENTRY_GONE', `this entry was already published as "${stored.key}" and has since been deleted`);
  }
  const base = view.baseUrl();
  const location = base + memberPath(feed.name, stored.key);
  sendEntry(res, stored, format, base, created ? 201 : 200, { Location: location, 'Content-Location': location });
}
