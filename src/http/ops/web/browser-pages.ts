import type { Request, RequestHandler } from 'express';
import { requireFeed, type AppContext } from '../../context.js';
import { requireEntry } from '../../atompub/members.js';
import { requestView } from '../../request-view.js';
import { entryPageHtml } from './entry-page.js';
import { feedPageHtml } from './feed-page.js';
import { sendHtml } from './html.js';

/**
 * Whether a GET asks for a page rather than one of `documents`: a browser ranks text/html above
 * XML, while a feed reader, an AtomPub client or curl (with its `*` + `/*`, or no Accept at all)
 * gets the document as ever.
 */
export function wantsPage(req: Request, documents: readonly string[]): boolean {
  return req.accepts([...documents, 'text/html']) === 'text/html';
}

/** What a feed's and an entry's URLs serve besides a page. */
const DOCUMENTS = ['application/atom+xml', 'application/xml', 'application/json'];

/** A page, made for the request a route matched. */
export type PageMaker = (ctx: AppContext, req: Request) => Promise<string>;

/** A feed's page: its live tail. */
export const feedPage: PageMaker = (ctx, req) => feedPageHtml(ctx, requireFeed(ctx, req), requestView(ctx, req).baseUrl());

/** An entry's page; 404 or 410 as for its member URL. */
export const entryPage: PageMaker = async (ctx, req) => {
  const feed = requireFeed(ctx, req);
  return entryPageHtml(feed, await requireEntry(ctx, feed, req), requestView(ctx, req).baseUrl());
};

/** A route that answers with a page. */
export function pageRoute(ctx: AppContext, make: PageMaker): RequestHandler {
  return async (req, res) => sendHtml(res, await make(ctx, req));
}

/**
 * For a document's URL (a feed's, an entry's): a browser gets the page there, anyone else goes on to
 * the document. `?format=` names a document whatever Accept says, so `?format=atom` shows a browser
 * the XML. Either answer depends on Accept, so caches keep them apart (the documents say so too);
 * the page is decided before any validator is compared and carries no ETag, so a document's ETag
 * never revalidates a page, nor a page's a document.
 */
export function pageForBrowsers(ctx: AppContext, make: PageMaker): RequestHandler {
  return async (req, res, next) => {
    // Workers and feed readers never mention HTML: they pay no parsing of Accept.
    if (!req.headers.accept?.includes('html') || req.query.format !== undefined || !wantsPage(req, DOCUMENTS)) {
      next();
      return;
    }
    res.vary('Accept');
    sendHtml(res, await make(ctx, req));
  };
}
