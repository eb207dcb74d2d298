import { isIPv6 } from 'node:net';
import { AtomMQError } from '../errors/index.js';
import type { AppContext } from './context.js';

/** RFC 3986 3.2.2 reg-name (which covers IPv4 addresses): unreserved, sub-delims, percent-encoded. */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const IP_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;

/** Whether a Host header is `host [":" port]` (RFC 9110 7.2, RFC 3986 3.2.2-3.2.3). */
export function isValidHost(host: string): boolean {
  const literal = /^\[([^\]]*)\](?::(\d*))?$/.exec(host);
  if (literal) return isIPv6(literal[1] as string) || IP_FUTURE.test(literal[1] as string);
  const colon = host.lastIndexOf(':');
  return colon < 0 ? REG_NAME.test(host) : REG_NAME.test(host.slice(0, colon)) && /^\d*$/.test(host.slice(colon + 1));
}

/**
 * The absolute base URL clients reach this server at, with a trailing slash; documents carry it as
 * xml:base, so the hrefs stored inside entries can stay relative and be rendered once. It is
 * `--base-url` when set, else built from the request's Host, which must then be a host and port
 * and nothing else, since it goes into Location, Link and xml:base (`Host: a>; rel="next",
 * <http://evil.example/x` would add a link of the client's making).
 */
export function baseUrlFor(ctx: AppContext, protocol: string, host: string | undefined): string {
  if (ctx.options.baseUrl !== undefined) return `${ctx.options.baseUrl}/`;
  // HTTP/1.0 may omit Host; Node refuses an HTTP/1.1 request without one.
  if (host === undefined) return `${protocol}://localhost/`;
  if (!isValidHost(host)) {
    throw new AtomMQError('INVALID_HEADER', `Host "${host.slice(0, 100)}" is not a host name or address with an optional port`);
  }
  return `${protocol}://${host}/`;
}

export function feedPath(feed: string): string {
  return `feeds/${feed}`;
}

export function memberPath(feed: string, key: string): string {
  return `feeds/${feed}/entries/${encodeURIComponent(key)}`;
}

/** The web page of a feed, for people: its URL is its document's with `ui/` before it. */
export function feedPagePath(feed: string): string {
  return `ui/${feedPath(feed)}`;
}

/** The web page of an entry, under its key, so that it stays the entry's page through every edit. */
export function entryPagePath(feed: string, key: string): string {
  return `ui/${memberPath(feed, key)}`;
}
