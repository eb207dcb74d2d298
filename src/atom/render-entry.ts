import { NS } from './namespaces.js';
import { escapeXml, personXml, type EntryChild, type ParsedEntry } from './parse-entry.js';
import type { Person } from './person.js';
import { attributes, children, elementName, serialize, textContent, type XmlNode } from './xml-tree.js';

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
  /** The feed's author, for entries that name none. */
  readonly defaultAuthor: Person;
  /** RFC 3339: when consumer groups may first hand the message out, and when they stop (publish headers). */
  readonly deliverAfter?: string | undefined;
  readonly expires?: string | undefined;
}

/**
 * An entry rendered once, when it is written. Its seq is only known at commit time, so each
 * representation stops just before the seq and `withSeq` finishes it on the way out.
 */
export interface Rendered {
  readonly xml: string;
  readonly json: string;
}

const ROOT_ATTRS = `xmlns="${NS.atom}" xmlns:app="${NS.app}" xmlns:am="${NS.am}"`;

function atom(entry: ParsedEntry, local: string): EntryChild[] {
  return entry.children.filter((c) => c.ns === NS.atom && c.local === local);
}

/** Reads a person construct's name, email and uri children. */
function personOf(node: XmlNode): Person {
  const fields: Record<string, string> = {};
  for (const child of children(node)) {
    const name = elementName(child);
    if (name !== undefined) fields[name.slice(name.indexOf(':') + 1)] = textContent(child).trim();
  }
  return { name: fields.name ?? '', ...(fields.email ? { email: fields.email } : {}), ...(fields.uri ? { uri: fields.uri } : {}) };
}

/** The value a JSON reader wants from a text construct or atom:content, by its type. */
function valueOf(node: XmlNode): unknown {
  const type = attributes(node).type ?? 'text';
  if (type === 'xhtml') {
    const div = children(node).find((n) => elementName(n) !== undefined);
    return div ? serialize(children(div)) : '';
  }
  if (/xml/i.test(type) && type !== 'text' && type !== 'html') return serialize(children(node));
  const text = textContent(node);
  if (/^application\/([\w.-]+\+)?json\b/i.test(type)) {
    // Base64 as RFC 4287 asks; inline JSON from clients that did not encode it is read as it is.
    const decoded = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, 'base64').toString('utf8') : text;
    for (const candidate of [decoded, text]) {
      try { return JSON.parse(candidate); } catch { /* try the next reading */ }
    }
  }
  return text;
}

function jsonFields(fields: Record<string, unknown>): string {
  // Stored without braces: `withSeq` puts the seq first, where a human reading the JSON looks for it.
  return JSON.stringify(fields).slice(1, -1);
}

/**
 * Renders a stored entry's Atom and JSON forms from what the client sent and what the server stamped.
 *
 * @example withSeq(renderEntry(parsed, stamp).xml, 42) // '<entry …>…<am:seq>42</am:seq></entry>'
 */
export function renderEntry(entry: ParsedEntry, stamp: EntryStamp): Rendered {
  const titles = atom(entry, 'title');
  const authors = atom(entry, 'author');
  const clientPublished = atom(entry, 'published').length > 0;
  // RFC 4287 4.1.1: an entry without content must link to an alternate; the member itself serves.
  const needsAlternate = atom(entry, 'content').length === 0 &&
    !atom(entry, 'link').some((l) => (attributes(l.node).rel ?? 'alternate') === 'alternate');
  const xml =
    `<entry ${ROOT_ATTRS}>` +
    `<id>${stamp.atomId}</id>` +
    (titles.length ? '' : '<title type="text"></title>') +
    `<updated>${stamp.updated}</updated>` +
    (clientPublished ? '' : `<published>${stamp.published}</published>`) +
    `<app:edited>${stamp.updated}</app:edited>` +
    (authors.length ? '' : personXml(stamp.defaultAuthor)) +
    `<link rel="edit" href="${escapeXml(stamp.memberPath)}"/>` +
    (needsAlternate ? `<link rel="alternate" href="${escapeXml(stamp.memberPath)}"/>` : '') +
    serialize(entry.children.map((c) => c.node)) +
    (stamp.deliverAfter ? `<am:deliver-after>${stamp.deliverAfter}</am:deliver-after>` : '') +
    (stamp.expires ? `<am:expires>${stamp.expires}</am:expires>` : '');

  const content = atom(entry, 'content')[0];
  const summary = atom(entry, 'summary')[0];
  const published = atom(entry, 'published')[0];
  const json = jsonFields({
    id: stamp.atomId,
    key: stamp.key,
    title: titles[0] ? valueOf(titles[0].node) : '',
    ...(content ? { content: valueOf(content.node), contentType: attributes(content.node).type ?? 'text' } : {}),
    ...(content && attributes(content.node).src ? { contentSrc: attributes(content.node).src } : {}),
    ...(summary ? { summary: valueOf(summary.node) } : {}),
    published: published ? textContent(published.node).trim() : stamp.published,
    updated: stamp.updated,
    edited: stamp.updated,
    authors: authors.length ? authors.map((a) => personOf(a.node)) : [stamp.defaultAuthor],
    categories: atom(entry, 'category').map((c) => attributes(c.node)),
    links: atom(entry, 'link').map((l) => attributes(l.node)),
    ...(stamp.deliverAfter ? { deliverAfter: stamp.deliverAfter } : {}),
    ...(stamp.expires ? { expires: stamp.expires } : {}),
  });
  return { xml, json };
}

/** An RFC 6721 tombstone, so cursor readers learn that an entry was deleted. */
export function renderTombstone(stamp: Pick<EntryStamp, 'key' | 'atomId' | 'updated' | 'memberPath'>): Rendered {
  const xml =
    `<at:deleted-entry xmlns:at="${NS.at}" xmlns="${NS.atom}" xmlns:am="${NS.am}" ref="${stamp.atomId}" when="${stamp.updated}">` +
    `<link rel="edit" href="${escapeXml(stamp.memberPath)}"/>`;
  const json = jsonFields({ id: stamp.atomId, key: stamp.key, deleted: true, edited: stamp.updated });
  return { xml, json };
}

/** A stored entry's (or tombstone's) Atom, completed with the seq it was committed at. */
export function xmlWithSeq(rendered: Rendered, seq: number, deleted: boolean): string {
  return `${rendered.xml}<am:seq>${seq}</am:seq>${deleted ? '</at:deleted-entry>' : '</entry>'}`;
}

/** A stored entry's JSON, completed with the seq it was committed at. */
export function jsonWithSeq(rendered: Rendered, seq: number): string {
  return `{"seq":${seq},${rendered.json}}`;
}

/** Completes both representations; a page needs only one, and uses the functions above. */
export function withSeq(rendered: Rendered, seq: number, deleted: boolean): Rendered {
  return { xml: xmlWithSeq(rendered, seq, deleted), json: jsonWithSeq(rendered, seq) };
}
