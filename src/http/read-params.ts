import type { FeedConfig } from '../config/feed-config.js';
import { AtomMQError } from '../errors/index.js';
import { isLimit, MAX_LIMIT } from '../names.js';
import type { Representation, Store } from '../store/store.js';
import type { HttpRequestView, RequestView } from './request-view.js';

function wholeNumber(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The reader's cursor, from the `Xlastid` header (the original AtomMQ's) or `?lastid=`; undefined
 * means the collection view. A cursor is a seq, or the atom:id of an entry of this feed.
 */
export async function readCursor(req: RequestView, feed: FeedConfig, store: Store): Promise<number | undefined> {
  const header = req.header('xlastid');
  const text = header ?? req.query('lastid');
  if (text === undefined) return undefined;
  return parseCursor(text, header !== undefined ? 'Xlastid header' : 'lastid parameter', feed, store);
}

/** Where a live stream starts: after its cursor, or (undefined) with what is committed from now on. */
export interface StreamCursor {
  readonly seq: number;
  /**
   * True for `Xlastid` and `?lastid=`, which the client chose; false for `Last-Event-ID`, which a
   * browser's EventSource sends by itself when it reconnects.
   */
  readonly explicit: boolean;
}

/**
 * A stream's cursor: `Last-Event-ID` (an EventSource reconnecting) wins over `Xlastid` and
 * `?lastid=`. A round-robin feed's streams take no cursor, so there it is ignored, whatever it holds.
 */
export async function readStreamCursor(req: RequestView, feed: FeedConfig, store: Store): Promise<StreamCursor | undefined> {
  const lastEventId = req.header('last-event-id');
  if (lastEventId !== undefined && lastEventId.trim() !== '') {
    if (feed.delivery === 'roundrobin') return undefined;
    return { seq: await parseCursor(lastEventId, 'Last-Event-ID header', feed, store), explicit: false };
  }
  const seq = await readCursor(req, feed, store);
  return seq === undefined ? undefined : { seq, explicit: true };
}

/** One cursor value: a seq, or the atom:id of an entry of the feed. `source` names it in errors. */
export async function parseCursor(text: string, source: string, feed: FeedConfig, store: Store): Promise<number> {
  const value = text.trim();
  const seq = wholeNumber(value);
  if (seq !== undefined) return seq;
  if (/^urn:/i.test(value)) {
    const found = await store.seqOfAtomId(feed.name, value);
    if (found === undefined) throw new AtomMQError('INVALID_CURSOR', `${source}: feed "${feed.name}" has no entry with atom:id "${value}"`);
    return found;
  }
  throw new AtomMQError('INVALID_CURSOR', `${source} "${value.slice(0, 100)}" is not a seq (an integer from 0 to ${Number.MAX_SAFE_INTEGER}) or the atom:id of an entry`);
}

/** `?limit=`: entries per page, up to MAX_LIMIT; the feed's pageSize when absent. */
export function readLimit(req: RequestView, feed: FeedConfig): number {
  const text = req.query('limit');
  if (text === undefined) return feed.pageSize;
  const n = wholeNumber(text);
  if (!isLimit(n)) {
    throw new AtomMQError('INVALID_PARAMETER', `limit "${text.slice(0, 100)}" must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

/** `?before=`: the collection view's paging position (entries older than this seq). */
export function readBefore(req: RequestView): number | undefined {
  const text = req.query('before');
  if (text === undefined) return undefined;
  const n = wholeNumber(text);
  if (n === undefined || n < 1) throw new AtomMQError('INVALID_PARAMETER', `before "${text.slice(0, 100)}" must be a positive integer seq`);
  return n;
}

export interface WaitRequest {
  /** Seconds to hold the request, capped by the feed's maxWait. */
  readonly seconds: number;
  /** Set when the wait came from `Prefer: wait=`, to answer with Preference-Applied. */
  readonly preferred: boolean;
}

const SECONDS = /^\d+(\.\d+)?$/;

function seconds(text: string, source: string): number {
  if (!SECONDS.test(text)) throw new AtomMQError('INVALID_PARAMETER', `${source} "${text.slice(0, 100)}" must be a number of seconds`);
  return Number(text);
}

/** How long a cursor read may wait for news: `?wait=S`, `Prefer: wait=S` (RFC 7240) or QST's `long-polling=true`. */
export function readWait(req: RequestView, feed: FeedConfig): WaitRequest | undefined {
  const wait = req.query('wait');
  const longPolling = req.query('long-polling');
  const prefer = /(?:^|[,;\s])wait\s*=\s*"?([^",;\s]*)"?/i.exec(req.header('prefer') ?? '')?.[1];
  let requested: number | undefined;
  let preferred = false;
  if (wait !== undefined) requested = seconds(wait, 'wait');
  else if (longPolling !== undefined) {
    if (longPolling !== 'true' && longPolling !== 'false') throw new AtomMQError('INVALID_PARAMETER', `long-polling must be true or false, not "${longPolling.slice(0, 100)}"`);
    requested = longPolling === 'true' ? feed.maxWait : undefined;
  } else if (prefer !== undefined && SECONDS.test(prefer)) {
    // A preference the server cannot honour is ignored, not refused (RFC 7240 2).
    requested = Number(prefer);
    preferred = true;
  }
  if (requested === undefined || requested === 0) return undefined;
  return { seconds: Math.min(requested, feed.maxWait), preferred };
}

export type Format = 'atom' | 'json';

/** `?format=` wins; otherwise the Accept header; Atom when the client does not say. */
export function readFormat(req: HttpRequestView, fallback: Format = 'atom'): Format {
  const format = readFormatParam(req);
  if (format !== undefined) return format;
  if (!req.header('accept')) return fallback;
  const preferred = req.accepts(fallback === 'json'
    ? ['application/json', 'application/atom+xml', 'application/xml']
    : ['application/atom+xml', 'application/xml', 'application/json']);
  return preferred === 'application/json' ? 'json' : 'atom';
}

/** `?format=` alone, for what has no media type to negotiate (a WebSocket's messages). */
export function readFormatParam(req: RequestView): Format | undefined {
  const format = req.query('format');
  if (format === undefined) return undefined;
  if (format === 'json') return 'json';
  if (format === 'atom' || format === 'xml') return 'atom';
  throw new AtomMQError('INVALID_PARAMETER', `format "${format.slice(0, 100)}" must be atom, xml or json`);
}

/** The stored form a format is made from: a reader of one format never needs the other loaded. */
export function representationOf(format: Format): Representation {
  return format === 'json' ? 'json' : 'xml';
}
