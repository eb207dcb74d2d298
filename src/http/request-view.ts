import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Request } from 'express';
import { AtomMQError } from '../errors/index.js';
import type { AppContext } from './context.js';
import { baseUrlFor } from './urls.js';

/**
 * What the readers in read-params.ts see of a request, whatever carried it: an Express request, or a
 * WebSocket upgrade, which Express never sees. Both then read cursors, formats, waits and the base
 * URL by the same rules, and a refusal names the same thing.
 */
export interface RequestView {
  /** A header's value (the name in any case); undefined when absent. */
  header(name: string): string | undefined;
  /** A query parameter given once; undefined when absent. A repeated one is ambiguous, and refused. */
  query(name: string): string | undefined;
  /**
   * The absolute base URL, with a trailing slash (see baseUrlFor). Computed when asked: a Host no URL
   * can be built from is refused then.
   */
  baseUrl(): string;
}

/** A request answered over HTTP also negotiates the media type of its answer. */
export interface HttpRequestView extends RequestView {
  /** The best of `types` by the Accept header (the first one when there is none); false when none is acceptable. */
  accepts(types: string[]): string | false;
}

/** One query parameter's values as a single string: a repeated parameter (or a nested one) is refused. */
function once(name: string, values: readonly unknown[]): string | undefined {
  if (values.length > 1 || (values.length === 1 && typeof values[0] !== 'string')) {
    throw new AtomMQError('INVALID_PARAMETER', `query parameter "${name}" must be given once, as a plain value`);
  }
  return values[0] as string | undefined;
}

const views = new WeakMap<Request, HttpRequestView>();

/**
 * The view of a request Express routes: one per request, whoever asks. It parses the query string
 * and builds the base URL once, where Express's `req.query` parses the query string again on every
 * read, and a page read asks for half a dozen parameters.
 */
export function requestView(ctx: AppContext, req: Request): HttpRequestView {
  let view = views.get(req);
  if (view === undefined) views.set(req, (view = expressView(ctx, req)));
  return view;
}

function expressView(ctx: AppContext, req: Request): HttpRequestView {
  let query: Request['query'] | undefined;
  let baseUrl: string | undefined;
  return {
    header: (name) => req.get(name),
    query: (name) => {
      const value: unknown = (query ??= req.query)[name];
      return once(name, value === undefined ? [] : [value]);
    },
    baseUrl: () => (baseUrl ??= baseUrlFor(ctx, req.protocol, req.get('host'))),
    accepts: (types) => req.accepts(types),
  };
}

/** The view of a WebSocket upgrade request, its URL already parsed (the caller routes by its path). */
export function upgradeView(ctx: AppContext, req: IncomingMessage, url: URL): RequestView {
  return {
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    query: (name) => once(name, url.searchParams.getAll(name)),
    // As Express's req.protocol, which trusts no proxy: the scheme the connection itself speaks.
    baseUrl: () => baseUrlFor(ctx, (req.socket as TLSSocket).encrypted ? 'https' : 'http', req.headers.host),
  };
}
