import type { FeedConfig } from '../../../config/feed-config.js';
import type { AppContext } from '../../context.js';
import { feedPagePath } from '../../urls.js';
import { html, page } from './html.js';

/**
 * Entries a dashboard counts per feed at most: the store keeps no count, so the page reads one
 * page of the collection, and a longer feed shows as "1000+".
 */
export const COUNT_LIMIT = 1000;

/** What the dashboard shows of a feed. */
interface FeedRow {
  readonly name: string;
  readonly entries: string;
  readonly lastMinute: string;
  readonly newestSeq: number;
  readonly groups: string;
}

async function feedRow(ctx: AppContext, feed: FeedConfig): Promise<FeedRow> {
  const store = ctx.storeFor(feed);
  const [live, bounds, groups] = await Promise.all([
    store.readBefore(feed.name, undefined, { limit: COUNT_LIMIT, only: 'json' }),
    store.bounds(feed.name),
    store.groups.list(feed.name),
  ]);
  return {
    name: feed.name,
    entries: `${live.changes.length}${live.more ? '+' : ''}`,
    lastMinute: ctx.metrics ? String(ctx.metrics.recentPublishes.lastMinute(feed.name)) : '–',
    newestSeq: bounds.newestSeq,
    groups: groups.map((group) => `${html(group.group)} (lag ${group.lag})`).join(', ') || '–',
  };
}

/** `GET /` for a browser: the feeds the caller may read, each linking to its live page. */
export async function dashboardHtml(ctx: AppContext, feeds: readonly FeedConfig[], baseUrl: string): Promise<string> {
  const rows = await Promise.all(feeds.map((feed) => feedRow(ctx, feed)));
  // Absolute, as on every page (feed-page.ts): a root-relative link would leave out a proxy's path.
  const body = rows.map((row) => `<tr><td><a href="${html(baseUrl + feedPagePath(encodeURIComponent(row.name)))}">${html(row.name)}</a></td>`
    + `<td class="n">${row.entries}</td><td class="n">${row.lastMinute}</td><td class="n">${row.newestSeq}</td>`
    + `<td>${row.groups}</td></tr>`).join('\n');
  return page('AtomMQ', `<h1>AtomMQ</h1>
<table id="feeds"><thead><tr><th>Feed</th><th class="n">Entries</th><th class="n">Published, last minute</th>
<th class="n">Newest seq</th><th>Groups (lag)</th></tr></thead><tbody>
${body || '<tr><td colspan="5">No feeds.</td></tr>'}</tbody></table>
<p class="meta">AtomPub clients get the service document at this URL; <a href="${html(baseUrl)}metrics">/metrics</a> has the Prometheus figures.</p>`);
}
