import { readFileSync } from 'node:fs';
import { Router } from 'express';
import { MEDIA } from '../../../atom/media.js';
import type { AppContext } from '../../context.js';
import { methodNotAllowed } from '../../error-handler.js';
import { grant, readableFeeds } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { entryPage, feedPage, pageRoute, wantsPage } from './browser-pages.js';
import { dashboardHtml } from './dashboard.js';
import { TAIL_SCRIPT } from './feed-page.js';
import { sendHtml } from './html.js';

/** What `GET /` serves besides the dashboard. */
const SERVICE_DOCUMENTS = [MEDIA.service.split(';')[0] as string, 'application/xml'];

/**
 * The web page for people (DESIGN.md section 15): `GET /` from a browser, `/ui/feeds/<name>`,
 * `/ui/feeds/<name>/entries/<key>` and the feed page's script. The pages check `read` as the feed
 * routes do; the dashboard lists only readable feeds. A browser gets the same feed and entry pages
 * at the documents' own URLs (browser-pages.ts).
 */
export function webRouter(ctx: AppContext): Router {
  const router = Router();
  // Read once: tsc compiles tail.ts beside this file, and the script never changes while serving.
  const script = readFileSync(new URL('./tail.js', import.meta.url), 'utf8');
  router.get('/', async (req, res, next) => {
    // Either answer depends on Accept, so a cache must keep them apart.
    res.vary('Accept');
    if (!wantsPage(req, SERVICE_DOCUMENTS)) return next();
    const feeds = (await readableFeeds(ctx, requestView(ctx, req))).sort((a, b) => a.name.localeCompare(b.name));
    sendHtml(res, await dashboardHtml(ctx, feeds, requestView(ctx, req).baseUrl()));
  });
  router.get('/ui/feeds/:name', grant(ctx, 'read'), pageRoute(ctx, feedPage));
  router.get('/ui/feeds/:name/entries/:key', grant(ctx, 'read'), pageRoute(ctx, entryPage));
  router.get(`/${TAIL_SCRIPT}`, (_req, res) => { res.type('text/javascript').send(script); });
  router.all(['/ui/feeds/:name', '/ui/feeds/:name/entries/:key', `/${TAIL_SCRIPT}`], methodNotAllowed('GET, HEAD'));
  return router;
}
