import { AtomMQError } from '../errors/index.js';
import { ENTRY_SCOPE, NS } from './namespaces.js';
import { isDateTime, isMediaType } from './values.js';
import { parseDocument } from './xml-parse.js';
import {
  childElements, declaredPrefix, hasText, prefixOf, ROOT_SCOPE, textContent, type Scope, type XmlElement,
} from './xml-tree.js';

/** A posted entry, checked, with the elements the server owns taken out. */
export interface ParsedEntry {
  /** What the client sent and AtomMQ keeps, in the client's order, each meaning the same under the stored entry's root. */
  readonly children: readonly XmlElement[];
  /** The xml:lang of the posted entry, which the stored entry's root carries. */
  readonly lang?: string | undefined;
  /** The client's atom:id: AtomMQ assigns its own, and uses this one to recognise retries. */
  readonly clientId?: string | undefined;
  /** The client's atom:published, kept as the entry's first publication time. */
  readonly published?: string | undefined;
}

/** Elements the server assigns; a client's copies are dropped rather than refused, as RFC 5023 9.2 allows. */
function isServerOwned(child: XmlElement): boolean {
  if (child.ns === NS.atom) {
    return child.local === 'id' || child.local === 'updated' || (child.local === 'link' && child.attributes.rel === 'edit');
  }
  return (child.ns === NS.app && child.local === 'edited') || child.ns === NS.am;
}

const SINGLE = new Set(['title', 'content', 'summary', 'published', 'rights', 'source']);
const TEXT_CONSTRUCTS = new Set(['title', 'subtitle', 'summary', 'rights']);
const TEXT_TYPES = ['text', 'html', 'xhtml'];

function checkType(child: XmlElement): void {
  const type = child.attributes.type;
  if (type === undefined) return;
  if (TEXT_CONSTRUCTS.has(child.local) && !TEXT_TYPES.includes(type)) {
    throw new AtomMQError('INVALID_ATOM', `atom:${child.local} has type "${type}"; a text construct is text, html or xhtml`);
  }
  if (child.local === 'content' && !TEXT_TYPES.includes(type) && !isMediaType(type)) {
    throw new AtomMQError('INVALID_ATOM', `atom:content has type "${type}"; it is text, html, xhtml or a media type such as text/plain (RFC 4287 4.1.3.1)`);
  }
  if (child.local === 'link' && !isMediaType(type)) {
    throw new AtomMQError('INVALID_ATOM', `atom:link has type "${type}", which is not a media type such as text/html (RFC 4287 4.2.7.3)`);
  }
}

function checkAtomChild(child: XmlElement): void {
  checkType(child);
  const { type, src } = child.attributes;
  if (type === 'xhtml' && (TEXT_CONSTRUCTS.has(child.local) || (child.local === 'content' && src === undefined))) {
    const [div, ...more] = childElements(child);
    if (div === undefined || more.length > 0 || hasText(child) || div.ns !== NS.xhtml || div.local !== 'div') {
      throw new AtomMQError('INVALID_ATOM', `atom:${child.local} of type "xhtml" must contain exactly one xhtml:div (RFC 4287 3.1.1.3)`);
    }
  }
  if (child.local === 'published' && !isDateTime(textContent(child).trim())) {
    throw new AtomMQError('INVALID_ATOM', `atom:published "${textContent(child)}" is not an RFC 3339 date-time`);
  }
  if ((child.local === 'author' || child.local === 'contributor') && !childElements(child).some((n) => n.local === 'name')) {
    throw new AtomMQError('INVALID_ATOM', `atom:${child.local} needs an atom:name`);
  }
  if (child.local === 'link' && child.attributes.href === undefined) {
    throw new AtomMQError('INVALID_ATOM', 'atom:link needs an href attribute');
  }
  if (child.local === 'category' && child.attributes.term === undefined) {
    throw new AtomMQError('INVALID_ATOM', 'atom:category needs a term attribute');
  }
}

/**
 * The rules every posted entry follows, whether it came as Atom or as JSON: Atom's constraints on
 * its children, and the server's own elements taken out.
 */
export function entryOf(children: readonly XmlElement[], lang?: string): ParsedEntry {
  const kept: XmlElement[] = [];
  const seen = new Map<string, number>();
  let clientId: string | undefined;
  let published: string | undefined;
  for (const child of children) {
    if (child.ns === NS.atom) {
      const count = (seen.get(child.local) ?? 0) + 1;
      seen.set(child.local, count);
      if (count > 1 && SINGLE.has(child.local)) {
        throw new AtomMQError('INVALID_ATOM', `atom:entry has more than one atom:${child.local}`);
      }
      if (child.local === 'id') clientId = textContent(child).trim() || undefined;
      if (child.local === 'published') published = textContent(child).trim();
      checkAtomChild(child);
    }
    if (!isServerOwned(child)) kept.push(child);
  }
  return { children: kept, lang, clientId, published };
}

/** The prefixes ('' for the default namespace) that names in a subtree use without declaring them in it. */
function undeclaredPrefixes(node: XmlElement): Set<string> {
  const found = new Set<string>();
  const declared = new Map<string, number>();
  const visit = (element: XmlElement): void => {
    const own = Object.keys(element.attributes).map(declaredPrefix).filter((p) => p !== undefined);
    for (const prefix of own) declared.set(prefix, (declared.get(prefix) ?? 0) + 1);
    const use = (prefix: string): void => { if (!declared.get(prefix)) found.add(prefix); };
    use(prefixOf(element.name));
    for (const attr of Object.keys(element.attributes)) {
      if (attr.includes(':') && declaredPrefix(attr) === undefined) use(prefixOf(attr));
    }
    for (const child of childElements(element)) visit(child);
    for (const prefix of own) declared.set(prefix, (declared.get(prefix) as number) - 1);
  };
  visit(node);
  return found;
}

/**
 * Gives an element read in `scope` the declarations it relies on, so that it means the same once
 * written inside a stored entry: only those its own names use, so the cost follows its size.
 */
export function selfContained(node: XmlElement, scope: Scope): XmlElement {
  const attributes: Record<string, string> = {};
  let added = false;
  for (const prefix of undeclaredPrefixes(node)) {
    const uri = scope.get(prefix) ?? '';
    if ((ENTRY_SCOPE.get(prefix) ?? '') === uri) continue;
    attributes[prefix === '' ? 'xmlns' : `xmlns:${prefix}`] = uri;
    added = true;
  }
  return added ? { ...node, attributes: { ...attributes, ...node.attributes } } : node;
}

/**
 * The posted entry's xml:base, moved onto a child: the stored root cannot carry it, since the links
 * the server writes there are relative to the server's own base.
 */
function withBase(child: XmlElement, base: string): XmlElement {
  const own = child.attributes['xml:base'];
  if (own !== undefined && URL.canParse(own)) return child;
  if (own !== undefined && !URL.canParse(base)) {
    throw new AtomMQError('INVALID_ATOM', `<${child.name}> has xml:base "${own}" relative to the entry's relative xml:base "${base}"; make one of them absolute`);
  }
  return { ...child, attributes: { ...child.attributes, 'xml:base': own === undefined ? base : new URL(own, base).href } };
}

/**
 * Parses a posted Atom entry document.
 * The original AtomMQ's curl examples post `<entry>` with no namespace at all, so a root with no
 * namespace is read as Atom, names in no namespace under it included; any other namespace on the
 * root is refused.
 *
 * @example parseEntryXml('<entry><title>allo</title></entry>').children[0].local // 'title'
 */
export function parseEntryXml(body: string): ParsedEntry {
  const root = parseDocument(body);
  if (root.local !== 'entry' || (root.ns !== NS.atom && root.ns !== '')) {
    throw new AtomMQError('INVALID_ATOM', `the root element is {${root.ns}}${root.local}; expected atom:entry (${NS.atom})`);
  }
  if (hasText(root)) throw new AtomMQError('INVALID_ATOM', 'atom:entry contains text outside its child elements');
  const legacy = root.ns === '';
  const scope = new Map(ROOT_SCOPE);
  for (const [attr, uri] of Object.entries(root.attributes)) {
    const prefix = declaredPrefix(attr);
    if (prefix !== undefined) scope.set(prefix, uri);
  }
  if (legacy) scope.set('', NS.atom);
  const children = childElements(root).map((c) => (legacy && c.ns === '' ? { ...c, ns: NS.atom } : c));
  const entry = entryOf(children, root.attributes['xml:lang']);
  const base = root.attributes['xml:base'];
  return {
    ...entry,
    children: entry.children.map((c) => {
      const contained = selfContained(c, scope);
      return base === undefined ? contained : withBase(contained, base);
    }),
  };
}
