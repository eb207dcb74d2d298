import type { FeedConfig } from '../../../config/feed-config.js';
import type { AppContext } from '../../context.js';
import { entryPagePath, feedPath } from '../../urls.js';
import { html, page } from './html.js';

/** Entries the live tail starts with: the newest ones, then whatever is published while it is open. */
const BACKLOG = 20;

/** The browser script the page loads (tail.ts, compiled beside this file), relative to the server's base URL. */
export const TAIL_SCRIPT = 'ui/tail.js';

/** The cursor the tail starts after: just before the newest BACKLOG entries. */
async function tailCursor(ctx: AppContext, feed: FeedConfig): Promise<number> {
  const newest = await ctx.storeFor(feed).readBefore(feed.name, undefined, { limit: BACKLOG, only: 'json' });
  const oldest = newest.changes.at(-1);
  return newest.more && oldest ? oldest.seq - 1 : 0;
}

/**
 * `/ui/feeds/<name>`: the feed's entries live (tail.ts reads them over SSE, newest on top), a form
 * that publishes one, and the curl command that does the same.
 */
export async function feedPageHtml(ctx: AppContext, feed: FeedConfig, baseUrl: string): Promise<string> {
  const feedUrl = baseUrl + feedPath(encodeURIComponent(feed.name));
  const curl = `curl -H 'Content-Type: application/json' -d '{"title":"hello","content":"world"}' '${feedUrl}'`;
  // Every URL absolute, from the base URL: behind a proxy that serves the server under a path
  // (--base-url https://example.com/bus/), a root-relative one would leave that path out.
  return page(`${feed.name} – AtomMQ`, `<p><a href="${html(baseUrl)}">All feeds</a></p>
<main data-feed="${html(feed.name)}" data-feed-url="${html(feedUrl)}" data-entry-pages="${html(baseUrl + entryPagePath(feed.name, ''))}"
 data-lastid="${await tailCursor(ctx, feed)}">
<h1>${html(feed.name)}</h1>
<form id="publish"><label>Title <input name="title" required></label>
<label>Content <textarea name="content"></textarea></label>
<button type="submit">Publish</button><output id="status"></output></form>
<p>The same with curl:</p><pre>${html(curl)}</pre>
<h2>Live <span class="meta" id="state">connecting…</span></h2>
<ul id="entries"></ul></main>`, baseUrl + TAIL_SCRIPT);
}
