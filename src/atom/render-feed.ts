import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { v5 as uuidv5 } from 'uuid';
import type { FeedConfig } from '../config/feed-config.js';
import { NS } from './namespaces.js';
import { escapeAttribute, escapeText } from './escape.js';
import { jsonWithSeq, xmlWithSeq, type Rendered } from './render-entry.js';

/** Fixed namespace for deriving each feed's atom:id from its name, so the id survives restarts. */
const FEED_ID_NAMESPACE = '5b0c1e0e-6a3f-4f4e-9d59-8a4c1b2f7e10';

export const MEDIA = {
  feed: 'application/atom+xml;type=feed;charset=utf-8',
  entry: 'application/atom+xml;type=entry;charset=utf-8',
  service: 'application/atomsvc+xml;charset=utf-8',
  json: 'application/json;charset=utf-8',
} as const;

export function feedAtomId(name: string): string {
  return `urn:uuid:${uuidv5(name, FEED_ID_NAMESPACE)}`;
}

/** One change as the renderers need it: its rendered forms, its seq and whether it is a tombstone. */
export interface PageItem {
  readonly seq: number;
  readonly deleted: boolean;
  readonly rendered: Rendered;
}

export interface FeedPage {
  readonly feed: FeedConfig;
  /** Absolute base URL with a trailing slash; every relative href in the document resolves against it. */
  readonly base: string;
  /** Relative to `base`. */
  readonly selfPath: string;
  readonly nextPath?: string | undefined;
  readonly updated: string;
  readonly items: readonly PageItem[];
  readonly lastid: number;
}

/**
 * xmlbuilder2 passes `&name;` through as an entity reference it trusts, so a value like `?a=1&T;`
 * would come out as an undefined entity, and it writes a CR as it is, which readers turn into LF.
 * Escaping first makes every value literal (xmlbuilder2 leaves the references alone).
 */
const literal = escapeText;

function author(parent: XMLBuilder, person: FeedConfig['author']): void {
  const a = parent.ele(NS.atom, 'author');
  a.ele(NS.atom, 'name').txt(literal(person.name));
  if (person.email) a.ele(NS.atom, 'email').txt(literal(person.email));
  if (person.uri) a.ele(NS.atom, 'uri').txt(literal(person.uri));
}

/** Stand-ins for what changes from one request to the next, replaced in `renderFeedXml`. */
const SLOT = { base: 'atommq-slot-base', updated: 'atommq-slot-updated', self: 'atommq-slot-self', next: 'atommq-slot-next' } as const;
const SLOTS = new RegExp(`${SLOT.base}|${SLOT.updated}|${SLOT.self}|<!--${SLOT.next}-->`);

/**
 * A feed's head as xmlbuilder2 renders it, split around the slots, once per feed configuration:
 * building it with xmlbuilder2 on every request cost more than the rest of a page read.
 */
function headTemplate(feed: FeedConfig): string[] {
  const doc = create({ version: '1.0', encoding: 'UTF-8' })
    .ele(NS.atom, 'feed')
    .att('xmlns:app', NS.app).att('xmlns:am', NS.am).att('xmlns:at', NS.at)
    .att(NS.xml, 'xml:base', SLOT.base);
  doc.ele(NS.atom, 'id').txt(feedAtomId(feed.name));
  doc.ele(NS.atom, 'title').txt(literal(feed.title));
  if (feed.subtitle) doc.ele(NS.atom, 'subtitle').txt(literal(feed.subtitle));
  doc.ele(NS.atom, 'updated').txt(SLOT.updated);
  author(doc, feed.author);
  doc.ele(NS.atom, 'link').att('rel', 'self').att('href', SLOT.self);
  doc.com(SLOT.next);
  doc.ele(NS.atom, 'generator').att('uri', 'https://github.com/atommq/atommq').txt('AtomMQ');
  const xml = doc.end({ headless: false });
  return xml.slice(0, xml.lastIndexOf('</feed>')).split(new RegExp(`(${SLOTS.source})`));
}

const templates = new WeakMap<FeedConfig, string[]>();

/**
 * An Atom feed document, in parts to be written one after the other (a page of large entries is never
 * one string): the feed's head with this request's values in its slots, then each entry, rendered
 * when it was written and spliced in as text, then the end.
 */
export function* renderFeedXml(page: FeedPage): Generator<string> {
  let template = templates.get(page.feed);
  if (!template) templates.set(page.feed, (template = headTemplate(page.feed)));
  const values: Record<string, string> = {
    [SLOT.base]: escapeAttribute(page.base),
    [SLOT.updated]: escapeText(page.updated),
    [SLOT.self]: escapeAttribute(page.selfPath),
    [`<!--${SLOT.next}-->`]: page.nextPath ? `<link rel="next" href="${escapeAttribute(page.nextPath)}"/>` : '',
  };
  yield template.map((part) => values[part] ?? part).join('');
  for (const item of page.items) yield xmlWithSeq(item.rendered, item.seq, item.deleted);
  yield '</feed>';
}

/** The same page as JSON, in parts likewise: `{ feed, entries, lastid, next }`. */
export function* renderFeedJson(page: FeedPage): Generator<string> {
  const feed = JSON.stringify({
    name: page.feed.name,
    id: feedAtomId(page.feed.name),
    title: page.feed.title,
    ...(page.feed.subtitle ? { subtitle: page.feed.subtitle } : {}),
    updated: page.updated,
    author: page.feed.author,
  });
  yield `{"feed":${feed},"entries":[`;
  for (const [i, item] of page.items.entries()) yield `${i === 0 ? '' : ','}${jsonWithSeq(item.rendered, item.seq)}`;
  const next = page.nextPath ? JSON.stringify(page.base + page.nextPath) : 'null';
  yield `],"lastid":${page.lastid},"next":${next}}`;
}

/** The AtomPub service document: one workspace, one collection per feed. */
export function renderServiceXml(base: string, feeds: readonly FeedConfig[]): string {
  const service = create({ version: '1.0', encoding: 'UTF-8' })
    .ele(NS.app, 'service').att('xmlns:atom', NS.atom).att(NS.xml, 'xml:base', literal(base));
  const workspace = service.ele(NS.app, 'workspace');
  workspace.ele(NS.atom, 'atom:title').txt('AtomMQ');
  for (const feed of feeds) {
    const collection = workspace.ele(NS.app, 'collection').att('href', `feeds/${feed.name}`);
    collection.ele(NS.atom, 'atom:title').txt(literal(feed.title));
    collection.ele(NS.app, 'accept').txt('application/atom+xml;type=entry');
    collection.ele(NS.app, 'accept').txt('application/json');
  }
  return service.end({ headless: false });
}
