import type autocannon from 'autocannon';
import type { Agent } from 'node:http';
import { httpRequest, lastIdHeader } from './http-client.js';
import type { LoadSpec } from './load.js';
import { FEED } from './servers.js';

export const PAGE_LIMIT = 50;
const ATOM = 'application/atom+xml';

/** The ~300-byte Atom entry every server under test receives. */
export const POST_BODY = entryBody(300);
export const POST_HEADERS: Record<string, string> = { 'content-type': ATOM };

function entryBody(bytes: number): string {
  const head = '<entry xmlns="http://www.w3.org/2005/Atom"><title>bench message</title><content type="text">';
  const tail = '</content></entry>';
  return head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

export function feedUrl(baseUrl: string, query = ''): string {
  return `${baseUrl}/feeds/${FEED}${query}`;
}

/** Phase length (duration or amount) is left to the caller. */
export function postLoad(baseUrl: string, connections: number): LoadSpec {
  return { url: feedUrl(baseUrl), method: 'POST', connections, headers: POST_HEADERS, body: POST_BODY };
}

/** Inclusive range of stored seqs; cursors are drawn from it. */
export interface SeqRange {
  readonly first: number;
  readonly last: number;
}

/**
 * GET of a 50-entry cursor page. Each request gets a fresh random cursor
 * spread over the stored range so the server cannot answer from one hot
 * cached page. Baselines ignore the cursor but get the same randomised
 * requests, so all servers parse identical request bytes.
 */
export function pageLoad(baseUrl: string, connections: number, range: SeqRange): LoadSpec {
  // Cursor = "entries after N": the lowest useful value is first-1, the highest
  // still yields a full page (modulo seq gaps).
  const lo = range.first - 1;
  const span = Math.max(1, range.last - PAGE_LIMIT - lo + 1);
  return {
    url: feedUrl(baseUrl, `?limit=${PAGE_LIMIT}`),
    method: 'GET',
    connections,
    setupRequest: (request: autocannon.Request) => {
      request.headers = { ...request.headers, xlastid: String(lo + Math.floor(Math.random() * span)) };
      return request;
    },
  };
}

/** POSTs one entry and returns its seq (the newest one). */
export async function postOne(baseUrl: string, options: { agent?: Agent } = {}): Promise<number> {
  const res = await httpRequest(feedUrl(baseUrl), {
    ...options,
    method: 'POST',
    headers: POST_HEADERS,
    body: POST_BODY,
    timeoutMs: 10_000,
  });
  const seq = lastIdHeader(res);
  if (res.status !== 201 || seq === undefined) {
    throw new Error(`POST ${feedUrl(baseUrl)}: expected 201 with Xlastid, got ${res.status} ${res.headers['xlastid']}`);
  }
  return seq;
}

export interface PageProbe {
  readonly status: number;
  readonly bytes: number;
  readonly entries: number;
  readonly lastId: number | undefined;
}

export async function probePage(baseUrl: string, cursor: number, limit = PAGE_LIMIT): Promise<PageProbe> {
  const res = await httpRequest(feedUrl(baseUrl, `?limit=${limit}`), {
    headers: { xlastid: String(cursor) },
    timeoutMs: 10_000,
  });
  const text = res.body.toString('utf8');
  return {
    status: res.status,
    bytes: res.body.length,
    entries: (text.match(/<entry[\s>]/g) ?? []).length,
    lastId: lastIdHeader(res),
  };
}

/**
 * Finds the stored seq range: the first page after cursor 0 tells the oldest
 * seq, and one extra POST tells the newest (the contract has no cheaper way
 * to ask for the head; one extra entry does not matter at this scale).
 */
export async function seqRange(baseUrl: string): Promise<SeqRange> {
  const head = await probePage(baseUrl, 0, 1);
  if (head.status !== 200 || head.lastId === undefined) {
    throw new Error(`GET ${feedUrl(baseUrl)} with Xlastid 0: got ${head.status}, Xlastid ${head.lastId}`);
  }
  return { first: head.lastId, last: await postOne(baseUrl) };
}
