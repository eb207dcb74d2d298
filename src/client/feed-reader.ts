/**
 * Reading a feed: a page of the cursor view, the newest seq, a stream of entries from a cursor.
 * {@link FeedReader} is all a subscription needs of the client.
 */
import { checkCursor, checkFeed, checkLimit, checkWait } from './checks.js';
import { HttpError, InvalidArgumentError, ResponseError } from './errors.js';
import { readEvents } from './sse.js';
import { callOptions, header, readJson, type CallOptions, type Transport } from './transport.js';
import { isEntry, type Entry, type FeedHead, type Gap, type ReadResult } from './types.js';

/** Options of {@link AtomMQClient.read}. */
export interface ReadOptions extends CallOptions {
  /** The cursor: entries with a seq greater than this, oldest first. A seq, or an entry's `atom:id`. @defaultValue 0 */
  readonly lastId?: number | string;
  /** Entries per page, 1 to 1000. @defaultValue the feed's pageSize (100) */
  readonly limit?: number;
  /** Long-poll: when nothing is newer than the cursor, wait up to this many seconds for something to be. @defaultValue 0 */
  readonly wait?: number;
}

/** Options of {@link FeedReader.openStream}. */
export interface StreamOptions {
  readonly signal: AbortSignal;
  /** No bytes (events or heartbeats) for this long, in ms, means the stream is dead. */
  readonly idleTimeoutMs: number;
}

/** What a subscription reads a feed through. */
export interface FeedReader {
  /** One page of entries after `options.lastId`, oldest first. */
  read(feed: string, options: ReadOptions): Promise<ReadResult>;
  /** The newest seq of the feed, 0 when it is empty. */
  latestId(feed: string, options: CallOptions): Promise<number>;
  /**
   * The feed's entries after `lastId` as the server pushes them, and the gaps it tells of, until the
   * stream breaks or ends. Throws an HttpError CURSOR_AHEAD when the server ends it for that reason.
   */
  openStream(feed: string, lastId: number, options: StreamOptions): Promise<AsyncIterable<StreamItem>>;
}

/** What a stream carries: an entry, or the news that retention removed seqs before they were read. */
export type StreamItem = Entry | { readonly gap: Gap };

/** A gap as the server writes it, `{"gap":{"from":F,"to":T}}`; undefined when `value` is something else. */
export function gapOf(value: unknown): Gap | undefined {
  const gap = (value as { gap?: { from?: unknown; to?: unknown } } | null)?.gap;
  return gap && Number.isSafeInteger(gap.from) && Number.isSafeInteger(gap.to) ? { from: gap.from as number, to: gap.to as number } : undefined;
}

/** Parses one SSE event into an entry: `data:` is the entry's JSON, `id:` its seq. */
function entryOf(data: string, id: string | undefined): Entry {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw new ResponseError(`an event's data is not JSON: ${data.slice(0, 100)}`, error);
  }
  if (typeof value !== 'object' || value === null) throw new ResponseError(`an event's data is not an entry: ${data.slice(0, 100)}`);
  const seq = (value as { seq?: unknown }).seq ?? (id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw new ResponseError(`an event carries no seq: ${data.slice(0, 100)}`);
  return { ...(value as Entry), seq };
}

/** Parses a named event's JSON data; undefined when it is not JSON. */
function eventJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** The entries and gaps of an event stream. */
async function* itemsOf(body: AsyncIterable<Uint8Array>, url: string): AsyncGenerator<StreamItem> {
  for await (const event of readEvents(body)) {
    // Entries are plain `message` events. The server names its other events: `gap` tells of seqs
    // retention removed; `closing` says why it ends the stream (shutting down, this reader fell too
    // far behind, its cursor is ahead of the database) just before it does.
    if (event.event === 'message') yield entryOf(event.data, event.id);
    else if (event.event === 'gap') {
      const gap = gapOf(eventJson(event.data));
      if (gap) yield { gap };
    } else if (event.event === 'closing') {
      const reason = eventJson(event.data) as { code?: unknown; detail?: string; newest?: number } | undefined;
      // A cursor ahead of the database is refused on every reconnect: it is not a break to retry.
      if (reason?.code === 'CURSOR_AHEAD') throw new HttpError(409, 'GET', url, { ...reason, code: 'CURSOR_AHEAD' });
    }
  }
}

function withGap(gap: Gap | undefined): { gap?: Gap } {
  return gap ? { gap } : {};
}

/** {@link FeedReader} over a transport: the JSON view, long-poll and server-sent events. */
export class TransportFeedReader implements FeedReader {
  constructor(private readonly transport: Transport) {}

  async read(feed: string, options: ReadOptions = {}): Promise<ReadResult> {
    checkFeed(feed);
    const lastId = options.lastId ?? 0;
    checkCursor(lastId);
    checkLimit(options.limit);
    checkWait(options.wait);
    const wait = options.wait ?? 0;
    const path = `/feeds/${feed}`;
    return this.transport.request({
      method: 'GET',
      path,
      query: { format: 'json', limit: options.limit, wait: wait > 0 ? wait : undefined },
      headers: { xlastid: String(lastId), accept: 'application/json' },
      holdMs: wait * 1000,
      ...callOptions(options),
    }, async (answer) => {
      const page = await readJson<{ feed: FeedHead; entries: unknown; lastid: number; next: string | null; gap?: unknown }>(answer);
      if (!Array.isArray(page.entries) || !page.entries.every(isEntry)) throw new ResponseError(`GET ${this.transport.baseUrl}${path}: the page has no valid entries array`);
      const lastIdHeader = Number(header(answer, 'xlastid'));
      return {
        feed: page.feed,
        entries: page.entries as Entry[],
        lastId: Number.isSafeInteger(lastIdHeader) ? lastIdHeader : page.lastid,
        hasMore: page.next !== null && page.next !== undefined,
        ...withGap(gapOf(page)),
      };
    });
  }

  async latestId(feed: string, options: CallOptions = {}): Promise<number> {
    checkFeed(feed);
    const path = `/feeds/${feed}`;
    return this.transport.request({
      method: 'GET', path, query: { format: 'json', limit: 1 }, headers: { accept: 'application/json' },
      ...callOptions(options),
    }, async (answer) => {
      await answer.body.dump();
      const seq = Number(header(answer, 'xlastid'));
      if (!Number.isSafeInteger(seq)) throw new ResponseError(`GET ${this.transport.baseUrl}${path}: no Xlastid header`);
      return seq;
    });
  }

  /** One entry's member resource (RFC 5023): its Atom XML document, as it is now. */
  async entryXml(feed: string, key: string, options: CallOptions = {}): Promise<string> {
    checkFeed(feed);
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('an entry key must be a non-empty string');
    const path = `/feeds/${feed}/entries/${encodeURIComponent(key)}`;
    return this.transport.request({ method: 'GET', path, headers: { accept: 'application/atom+xml' }, ...callOptions(options) },
      (answer) => answer.body.text());
  }

  async openStream(feed: string, lastId: number, options: StreamOptions): Promise<AsyncIterable<StreamItem>> {
    checkFeed(feed);
    const path = `/feeds/${feed}`;
    const answer = await this.transport.stream({
      path,
      query: { format: 'json', lastid: lastId },
      // The cursor goes as `lastid`, not `Last-Event-ID`: AtomMQ reads the latter as an EventSource
      // reconnecting, which a round-robin feed ignores (live messages only), whereas an explicit
      // cursor there is refused (400). A subscription must never quietly lose its backlog.
      headers: { accept: 'text/event-stream', xlastid: String(lastId) },
      signal: options.signal,
      idleTimeoutMs: options.idleTimeoutMs,
    });
    const type = header(answer, 'content-type') ?? '';
    if (!type.startsWith('text/event-stream')) {
      await answer.body.dump().catch(() => undefined);
      throw new ResponseError(`GET ${this.transport.baseUrl}${path}: the server answered ${type || 'without a Content-Type'} to Accept: text/event-stream; ` +
        "it does not stream this feed (use transport 'longpoll')");
    }
    return itemsOf(answer.body, `${this.transport.baseUrl}${path}`);
  }
}
