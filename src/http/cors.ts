import type { Request, Response } from 'express';

/** What a page of another origin may read of an answer, beyond the CORS-safelisted headers. */
const EXPOSED = ['Location', 'ETag', 'Link', 'Xlastid', 'AtomMQ-Gap', 'Retry-After', 'WWW-Authenticate', 'X-Request-Id', 'Content-Location'].join(', ');
const METHODS = 'GET, HEAD, POST, PUT, DELETE';
/** Browsers cache a preflight's answer this long (seconds); Chromium caps it at 7200. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * CORS (`--cors ORIGINS`): pages from the listed origins (or any, with `*`) may call and stream
 * from the server, an EventSource included. A preflight is answered here, before the access check,
 * as browsers send it without credentials; the request it announces is then checked as any other.
 * An origin not listed gets answers without CORS headers, which its browser then hides from the page.
 * True when it answered the request (a preflight).
 */
export function cors(origins: readonly string[]): (req: Request, res: Response) => boolean {
  const any = origins.includes('*');
  const listed = new Set(origins);
  return (req, res) => {
    const origin = req.get('origin');
    if (origin === undefined || !(any || listed.has(origin))) return false;
    res.vary('Origin');
    res.set('Access-Control-Allow-Origin', origin);
    // Credentials (a Basic user the browser remembers) only for origins named one by one.
    if (!any) res.set('Access-Control-Allow-Credentials', 'true');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!preflight) {
      res.set('Access-Control-Expose-Headers', EXPOSED);
      return false;
    }
    res.set({ 'Access-Control-Allow-Methods': METHODS, 'Access-Control-Max-Age': PREFLIGHT_MAX_AGE });
    const asked = req.get('access-control-request-headers');
    if (asked !== undefined) res.set('Access-Control-Allow-Headers', asked);
    res.status(204).end();
    return true;
  };
}
