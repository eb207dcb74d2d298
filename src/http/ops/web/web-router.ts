import { readFileSync } from 'node:fs';
import { Router, type Request } from 'express';
import { MEDIA } from '../../../atom/media.js';
import { requireFeed, type AppContext } from '../../context.js';
import { methodNotAllowed } from '../../error-handler.js';
import { grant, readableFeeds } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { dashboardHtml } from './dashboard.js';
import { feedPageHtml, TAIL_SCRIPT } from './feed-page.js';

/**
 * Whether `GET /` asks for a page rather than the service document: a browser ranks text/html
 * above XML, while an AtomPub client (or curl, with its `*` + `/*`) gets the service document as ever.
 */
function wantsPage(req: Request): boolean {
  return req.accepts([MEDIA.service.split(';')[0] as string, 'application/xml', 'text/html']) === 'text/html';
}

/**
 * The web page for people (DESIGN.md section 15): `GET /` from a browser, `/ui/feeds/<name>` and
 * its script. The pages check `read` as the feed routes do; the dashboard lists only readable feeds.
 */
export function webRouter(ctx: AppContext): Router {
  const router = Router();
  // Read once: tsc compiles tail.ts beside this file, and the script never changes while serving.
  const script = readFileSync(new URL('./tail.js', import.meta.url), 'utf8');
  router.get('/', async (req, res, next) => {
    // Either answer depends on Accept, so a cache must keep them apart.
    res.vary('Accept');
    if (!wantsPage(req)) return next();
    const feeds = (await readableFeeds(ctx, requestView(ctx, req))).sort((a, b) => a.name.localeCompare(b.name));
    res.set('Cache-Control', 'no-store').type('html').send(await dashboardHtml(ctx, feeds));
  });
  router.get('/ui/feeds/:name', grant(ctx, 'read'), async (req, res) => {
    const html = await feedPageHtml(ctx, requireFeed(ctx, req), requestView(ctx, req).baseUrl());
    res.set('Cache-Control', 'no-store').type('html').send(html);
  });
  router.get(TAIL_SCRIPT, (_req, res) => { res.type('text/javascript').send(script); });
  router.all(['/ui/feeds/:name', TAIL_SCRIPT], methodNotAllowed('GET, HEAD'));
  return router;
}
