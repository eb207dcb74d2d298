/**
 * `POST /qst/<feed>`: QST v2's push. A `<messages>` document or a JSON array, stored all or nothing
 * in one transaction: 200 once every message is stored; 400 naming the message and the field when
 * one is invalid, with nothing stored. A message whose id the feed already holds is not stored
 * again, so a batch retried after a timeout is harmless.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { entryOf } from '../../../atom/parse-entry.js';
import { parseQstJson, parseQstXml, type QstMessage } from '../../../atom/qst.js';
import { qstAtomId, qstEntryChildren, qstJsonMember } from '../../../atom/qst-write.js';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { requireFeed, type AppContext } from '../../context.js';
import { bodyText, mediaType, parseJsonBody } from '../../body.js';
import { appendRequest } from '../publish.js';

/** `curl -d` sends form-urlencoded: read as XML, as a POST to a feed reads it. */
const XML_TYPES = new Set(['text/xml', 'application/xml', 'application/x-www-form-urlencoded']);
const JSON_TYPE = 'application/json';

/** The pushed messages, read by the body's type. */
function readMessages(req: Request): QstMessage[] {
  const { type, params } = mediaType(req);
  if (type === undefined || (!XML_TYPES.has(type) && type !== JSON_TYPE)) {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${quoted(type ?? 'none')} is not accepted; push a <messages> document as text/xml (or application/xml), or a JSON array as application/json`);
  }
  const charset = params.get('charset');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `charset ${quoted(charset)} is not accepted; send UTF-8`);
  }
  const bytes: unknown = req.body;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new AtomMQError('BAD_REQUEST', 'the request body is empty; push a <messages> document or a JSON array');
  const text = bodyText(bytes);
  return type === JSON_TYPE ? parseQstJson(parseJsonBody(text)) : parseQstXml(text);
}

export async function postMessages(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feed = requireFeed(ctx, req);
  const messages = readMessages(req);
  const now = new Date().toISOString();
  const requests = messages.map((message) => appendRequest(feed, {
    entry: entryOf(qstEntryChildren(message)),
    atomId: message.id === undefined ? undefined : qstAtomId(message.id),
    clientId: message.id,
    // The message as pushed identifies it: hashing it costs a fraction of hashing the entry's elements.
    fingerprint: createHash('sha256').update(JSON.stringify(message)).digest('base64url'),
    jsonMembers: qstJsonMember(message),
  }, now));
  const results = await ctx.storeFor(feed).appendBatch(requests);
  const stored = results.filter((r) => r.created).length;
  const lastid = results.reduce((last, r) => Math.max(last, r.entry.seq), 0);
  res.set({ 'Cache-Control': 'no-store', ...(lastid ? { Xlastid: String(lastid) } : {}) })
    .json({ feed: feed.name, stored, repeated: results.length - stored });
}
