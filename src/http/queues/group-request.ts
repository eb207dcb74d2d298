/**
 * What a consumer-group request names and sends, read once for every group route: the feed and the
 * group of its URL, its query numbers and its body (JSON, or form fields as `curl -d` sends them).
 */
import type { Request } from 'express';
import type { FeedConfig } from '../../config/feed-config.js';
import { AtomMQError } from '../../errors/index.js';
import { quoted } from '../../errors/quote.js';
import { checkRef } from '../../store/group-input.js';
import type { GroupRef } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import { bodyText, mediaType, parseJsonBody } from '../body.js';
import { requireFeed, type AppContext } from '../context.js';
import { requestView, type HttpRequestView, type RequestView } from '../request-view.js';

export interface GroupRequest {
  readonly feed: FeedConfig;
  readonly store: Store;
  readonly ref: GroupRef;
  /** The request's headers, query and base URL. */
  readonly view: HttpRequestView;
}

/** The feed (404 when unknown) and the group (400 when its name breaks the rules) a request names. */
export function groupRequest(ctx: AppContext, req: Request): GroupRequest {
  const feed = requireFeed(ctx, req);
  const ref = { feed: feed.name, group: String(req.params.group) };
  checkRef(ref);
  return { feed, store: ctx.storeFor(feed), ref, view: requestView(ctx, req) };
}

/** The feed a request names, with the store that holds its groups. */
export function feedRequest(ctx: AppContext, req: Request): Omit<GroupRequest, 'ref' | 'view'> {
  const feed = requireFeed(ctx, req);
  return { feed, store: ctx.storeFor(feed) };
}

/** Form fields that may repeat, and the list each one makes: `receipt=a&receipt=b` is `receipts: [a, b]`. */
const FORM_LISTS: Record<string, string> = { receipt: 'receipts', seq: 'seqs' };
/** Fields that hold whole numbers, which a form carries as text. */
const NUMERIC = new Set(['delay', 'lease', 'seqs', 'position', 'leaseSeconds', 'maxDeliveries']);

/**
 * A group request's body as named values: a JSON object, or form fields. An empty body is `{}`.
 * A field not in `allowed` is refused, naming it, so that a misspelt one never passes unnoticed.
 */
export function readGroupBody(req: Request, allowed: readonly string[]): Record<string, unknown> {
  const bytes: unknown = req.body;
  const { type } = mediaType(req);
  let body: Record<string, unknown>;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) body = {};
  else if (type === 'application/json') body = jsonObject(bodyText(bytes));
  else if (type === 'application/x-www-form-urlencoded') body = formFields(bodyText(bytes));
  else {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${quoted(type ?? 'none')} is not accepted here; send application/json or application/x-www-form-urlencoded`);
  }
  const unknown = Object.keys(body).filter((field) => !allowed.includes(field));
  if (unknown.length > 0) {
    throw new AtomMQError('INVALID_PARAMETER', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => quoted(f)).join(', ')}; this request takes ${allowed.map((f) => `"${f}"`).join(', ') || 'none'}`);
  }
  return body;
}

function jsonObject(text: string): Record<string, unknown> {
  const value = parseJsonBody(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AtomMQError('INVALID_JSON', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function formFields(text: string): Record<string, unknown> {
  // No prototype: a field named "__proto__" is a field like any other.
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, value] of new URLSearchParams(text)) {
    const list = FORM_LISTS[name];
    const typed = NUMERIC.has(list ?? name) && /^\d{1,16}$/.test(value) ? Number(value) : value;
    if (list) ((fields[list] ??= []) as unknown[]).push(typed);
    else if (Object.hasOwn(fields, name)) throw new AtomMQError('INVALID_PARAMETER', `form field ${quoted(name)} is given more than once`);
    else fields[name] = typed;
  }
  return fields;
}

/**
 * A whole number from `min` to `max` (digits in a string will do: query parameters and form fields
 * are text), or undefined when absent. `name` is the field's or the parameter's, for the refusal.
 */
export function wholeNumber(value: unknown, name: string, min: number, max: number, unit = ''): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (!Number.isSafeInteger(n) || (n as number) < min || (n as number) > max) {
    throw new AtomMQError('INVALID_PARAMETER', `${name} ${quoted(value)}: a whole number${unit} from ${min} to ${max}`);
  }
  return n as number;
}

/** A query parameter holding a whole number from `min` to `max`. */
export function integerQuery(req: RequestView, name: string, min: number, max: number, unit = ''): number | undefined {
  return wholeNumber(req.query(name), name, min, max, unit);
}
