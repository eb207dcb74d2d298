import { feedAtomId, type FeedHead } from './feed-head.js';
import { jsonWithSeq, xmlWithSeq, type AmElements } from './finish-entry.js';
import { NS } from './namespaces.js';
import { authorElement } from './person.js';
import type { Rendered } from './render-entry.js';
import { attributesXml, emptyTag, serialize, textTag } from './xml-write.js';

/** One change as the renderers need it: its rendered forms, its seq and whether it is a tombstone. */
export interface PageItem {
  readonly seq: number;
  readonly deleted: boolean;
  readonly rendered: Rendered;
  /** What the face that sends the page adds to this entry, such as a claim's receipt and lease. */
  readonly am?: AmElements | undefined;
}

export interface FeedPage {
  readonly feed: FeedHead;
  /** Absolute base URL with a trailing slash; every relative href in the document resolves against it. */
  readonly base: string;
  /** Relative to `base`. */
  readonly selfPath: string;
  readonly nextPath?: string | undefined;
  /** The feed's web page, relative to `base`; pages of a feed have one, a group's claims and dead letters none. */
  readonly pagePath?: string | undefined;
  readonly updated: string;
  readonly items: readonly PageItem[];
  readonly lastid: number;
  /** Seqs retention removed before the reader read them (the cursor view's `AtomMQ-Gap`). */
  readonly gap?: { readonly from: number; readonly to: number } | undefined;
}

const FEED_OPEN =
  `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="${NS.atom}" xmlns:app="${NS.app}" xmlns:am="${NS.am}" xmlns:at="${NS.at}"`;
const GENERATOR = '<generator uri="https://github.com/atommq/atommq">AtomMQ</generator>';

/** The parts of a feed's head that no request changes. */
interface HeadParts {
  readonly id: string;
  /** atom:id, atom:title and atom:subtitle, written. */
  readonly identity: string;
  /** atom:author, written. */
  readonly author: string;
}

const heads = new WeakMap<FeedHead, HeadParts>();

/** Written once per feed configuration: the atom:id alone, a SHA-1, would cost more than the rest of the head. */
function headParts(feed: FeedHead): HeadParts {
  let parts = heads.get(feed);
  if (parts) return parts;
  const id = feedAtomId(feed.name);
  parts = {
    id,
    identity: textTag('id', id) + textTag('title', feed.title) + (feed.subtitle ? textTag('subtitle', feed.subtitle) : ''),
    author: serialize([authorElement(feed.author)]),
  };
  heads.set(feed, parts);
  return parts;
}

/**
 * An Atom feed document, in parts to be written one after the other (a page of large entries is never
 * one string): the feed's head, then each entry, written when it was stored and spliced in as text,
 * then the end.
 */
export function* renderFeedXml(page: FeedPage): Generator<string> {
  const head = headParts(page.feed);
  yield `${FEED_OPEN}${attributesXml({ 'xml:base': page.base })}>${head.identity}${textTag('updated', page.updated)}${head.author}` +
    emptyTag('link', { rel: 'self', href: page.selfPath }) +
    (page.nextPath ? emptyTag('link', { rel: 'next', href: page.nextPath }) : '') +
    (page.pagePath ? emptyTag('link', { rel: 'alternate', type: 'text/html', href: page.pagePath }) : '') +
    GENERATOR;
  for (const item of page.items) yield xmlWithSeq(item.rendered, item.seq, item.deleted, item.am);
  yield '</feed>';
}

/** The same page as JSON, in parts likewise: `{ feed, entries, lastid, next }`, and `gap` when there is one. */
export function* renderFeedJson(page: FeedPage): Generator<string> {
  const feed = JSON.stringify({
    name: page.feed.name,
    id: headParts(page.feed).id,
    title: page.feed.title,
    ...(page.feed.subtitle ? { subtitle: page.feed.subtitle } : {}),
    updated: page.updated,
    author: page.feed.author,
  });
  yield `{"feed":${feed},"entries":[`;
  for (const [i, item] of page.items.entries()) yield `${i === 0 ? '' : ','}${jsonWithSeq(item.rendered, item.seq, item.am)}`;
  const next = page.nextPath ? JSON.stringify(page.base + page.nextPath) : 'null';
  const gap = page.gap ? `,"gap":${JSON.stringify({ from: page.gap.from, to: page.gap.to })}` : '';
  yield `],"lastid":${page.lastid},"next":${next}${gap}}`;
}
