import { NS } from './namespaces.js';
import type { ParsedEntry } from './parse-entry.js';
import { authorElement, type Person } from './person.js';
import { isJsonMediaType, isXmlMediaType } from './values.js';
import { childElements, declaredPrefix, textContent, type Attributes, type XmlElement } from './xml-tree.js';
import { attributesXml, emptyTag, serialize, textTag } from './xml-write.js';

/** What the server decides about an entry when it stores it. */
export interface EntryStamp {
  readonly key: string;
  readonly atomId: string;
  /** RFC 3339; also used for app:edited, since every stored change is an edit. */
  readonly updated: string;
  /** Kept from the first version of the entry on PUT. */
  readonly published: string;
  /** The member URI relative to the server's base URL (e.g. `feeds/orders/entries/abc`). */
  readonly memberPath: string;
  /** The entry's web page relative to the server's base URL (e.g. `ui/feeds/orders/entries/abc`). */
  readonly pagePath: string;
  /** The feed's author, for entries that name none. */
  readonly defaultAuthor: Person;
  /** RFC 3339: when consumer groups may first hand the message out, and when they stop (publish headers). */
  readonly deliverAfter?: string | undefined;
  readonly expires?: string | undefined;
}

/**
 * An entry rendered once, when it is written. Its seq is only known at commit time, so each
 * representation stops just before the seq, and finish-entry.ts finishes it on the way out.
 */
export interface Rendered {
  readonly xml: string;
  readonly json: string;
}

/** The root of every stored entry binds what namespaces.ts ENTRY_SCOPE says. */
const ROOT_ATTRS = `xmlns="${NS.atom}" xmlns:app="${NS.app}" xmlns:am="${NS.am}"`;

function atom(entry: ParsedEntry, local: string): XmlElement[] {
  return entry.children.filter((c) => c.ns === NS.atom && c.local === local);
}

/** Reads a person construct's name, email and uri children. */
function personOf(node: XmlElement): Person {
  const fields: Record<string, string> = {};
  for (const child of childElements(node)) fields[child.local] = textContent(child).trim();
  return { name: fields.name ?? '', ...(fields.email ? { email: fields.email } : {}), ...(fields.uri ? { uri: fields.uri } : {}) };
}

/** An element's attributes for the JSON view: namespace declarations are how the Atom is written, not what it says. */
function jsonAttributes(node: XmlElement): Attributes {
  return Object.fromEntries(Object.entries(node.attributes).filter(([name]) => declaredPrefix(name) === undefined));
}

/** The value a JSON reader wants from a text construct or atom:content, by its type. */
function valueOf(node: XmlElement): unknown {
  const type = node.attributes.type ?? 'text';
  if (type === 'xhtml') {
    const div = childElements(node)[0];
    return div ? serialize(div.children) : '';
  }
  if (isXmlMediaType(type)) return serialize(node.children);
  const text = textContent(node);
  if (isJsonMediaType(type)) {
    // Base64 as RFC 4287 asks; inline JSON from clients that did not encode it is read as it is.
    const decoded = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, 'base64').toString('utf8') : text;
    for (const candidate of [decoded, text]) {
      try { return JSON.parse(candidate); } catch { /* try the next reading */ }
    }
  }
  return text;
}

/** RFC 4287 4.2.7.2: a link without rel, or with the registry's IRI for it, is an alternate link. */
const ALTERNATE_IRI = 'http://www.iana.org/assignments/relation/alternate';

/**
 * Whether the client gave the entry a web page of its own, an alternate link of type text/html: that
 * is the page a feed reader should open, and a second alternate of that type would break RFC 4287 4.1.1.
 */
function hasHtmlAlternate(links: readonly XmlElement[]): boolean {
  return links.some((link) => {
    const rel = link.attributes.rel ?? 'alternate';
    return (rel === 'alternate' || rel === ALTERNATE_IRI) && link.attributes.type?.split(';')[0]?.trim().toLowerCase() === 'text/html';
  });
}

function jsonFields(fields: Record<string, unknown>): string {
  // Stored without braces: finish-entry.ts puts the seq first, where a human reading the JSON looks for it.
  return JSON.stringify(fields).slice(1, -1);
}

/**
 * Renders a stored entry's Atom and JSON forms from what the client sent and what the server stamped.
 *
 * @example xmlWithSeq(renderEntry(parsed, stamp), 42, false) // '<entry …>…<am:seq>42</am:seq></entry>' (finish-entry.ts)
 */
export function renderEntry(entry: ParsedEntry, stamp: EntryStamp): Rendered {
  const titles = atom(entry, 'title');
  const authors = atom(entry, 'author');
  const clientPublished = atom(entry, 'published').length > 0;
  const links = atom(entry, 'link');
  // The page a feed reader opens, unless the client named its own; either is also the alternate link
  // RFC 4287 4.1.1 asks of an entry without content.
  const page = hasHtmlAlternate(links) ? undefined : { rel: 'alternate', type: 'text/html', href: stamp.pagePath };
  const xml =
    `<entry ${ROOT_ATTRS}${entry.lang === undefined ? '' : attributesXml({ 'xml:lang': entry.lang })}>` +
    textTag('id', stamp.atomId) +
    (titles.length ? '' : '<title type="text"></title>') +
    textTag('updated', stamp.updated) +
    (clientPublished ? '' : textTag('published', stamp.published)) +
    textTag('app:edited', stamp.updated) +
    (authors.length ? '' : serialize([authorElement(stamp.defaultAuthor)])) +
    emptyTag('link', { rel: 'edit', href: stamp.memberPath }) +
    (page ? emptyTag('link', page) : '') +
    serialize(entry.children) +
    (stamp.deliverAfter ? textTag('am:deliver-after', stamp.deliverAfter) : '') +
    (stamp.expires ? textTag('am:expires', stamp.expires) : '');

  const content = atom(entry, 'content')[0];
  const summary = atom(entry, 'summary')[0];
  const published = atom(entry, 'published')[0];
  const json = jsonFields({
    id: stamp.atomId,
    key: stamp.key,
    title: titles[0] ? valueOf(titles[0]) : '',
    ...(content ? { content: valueOf(content), contentType: content.attributes.type ?? 'text' } : {}),
    ...(content?.attributes.src ? { contentSrc: content.attributes.src } : {}),
    ...(summary ? { summary: valueOf(summary) } : {}),
    published: published ? textContent(published).trim() : stamp.published,
    updated: stamp.updated,
    edited: stamp.updated,
    authors: authors.length ? authors.map(personOf) : [stamp.defaultAuthor],
    categories: atom(entry, 'category').map(jsonAttributes),
    links: [...links.map(jsonAttributes), ...(page ? [page] : [])],
    ...(stamp.deliverAfter ? { deliverAfter: stamp.deliverAfter } : {}),
    ...(stamp.expires ? { expires: stamp.expires } : {}),
  });
  return { xml, json };
}

/** An RFC 6721 tombstone, so cursor readers learn that an entry was deleted. */
export function renderTombstone(stamp: Pick<EntryStamp, 'key' | 'atomId' | 'updated' | 'memberPath'>): Rendered {
  const xml =
    `<at:deleted-entry xmlns:at="${NS.at}" xmlns="${NS.atom}" xmlns:am="${NS.am}"${attributesXml({ ref: stamp.atomId, when: stamp.updated })}>` +
    emptyTag('link', { rel: 'edit', href: stamp.memberPath });
  const json = jsonFields({ id: stamp.atomId, key: stamp.key, deleted: true, edited: stamp.updated });
  return { xml, json };
}
