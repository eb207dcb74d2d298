import { z } from 'zod';
import { describeIssue } from '../errors/describe-issue.js';
import { AtomMQError } from '../errors/index.js';
import { NS } from './namespaces.js';
import { personSchema, toPerson, type Person } from './person.js';
import {
  attributes, characters, children, element, FORBIDDEN_CHAR, elementName, isText, parseDocument, resolveName, ROOT_SCOPE,
  scopeOf, textContent, type Scope, type XmlNode,
} from './xml-tree.js';

/** A top-level child of a posted entry: its resolved name and a node that carries its own namespaces. */
export interface EntryChild {
  readonly ns: string;
  readonly local: string;
  readonly node: XmlNode;
}

/** A posted entry, checked, with the elements the server owns taken out. */
export interface ParsedEntry {
  /** What the client sent and AtomMQ keeps, in the client's order. */
  readonly children: readonly EntryChild[];
  /** The client's atom:id: AtomMQ assigns its own, and uses this one to recognise retries. */
  readonly clientId?: string | undefined;
  /** The client's atom:published, kept as the entry's first publication time. */
  readonly published?: string | undefined;
}

/** RFC 3339 date-time, as atom:published and friends require. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Elements the server assigns; a client's copies are dropped rather than refused, as RFC 5023 9.2 allows. */
function isServerOwned(child: EntryChild, attrs: Record<string, string>): boolean {
  if (child.ns === NS.atom) {
    return child.local === 'id' || child.local === 'updated' || (child.local === 'link' && attrs.rel === 'edit');
  }
  return (child.ns === NS.app && child.local === 'edited') || child.ns === NS.am;
}

const SINGLE = new Set(['title', 'content', 'summary', 'published', 'rights', 'source']);
const TEXT_CONSTRUCTS = new Set(['title', 'subtitle', 'summary', 'rights']);

function checkAtomChild(child: EntryChild, scope: Scope): void {
  const attrs = attributes(child.node);
  const type = attrs.type;
  if (TEXT_CONSTRUCTS.has(child.local) && type !== undefined && !['text', 'html', 'xhtml'].includes(type)) {
    throw new AtomMQError('INVALID_ATOM', `atom:${child.local} has type "${type}"; a text construct is text, html or xhtml`);
  }
  if ((child.local === 'content' && type === 'xhtml' && attrs.src === undefined) || (TEXT_CONSTRUCTS.has(child.local) && type === 'xhtml')) {
    const inner = scopeOf(child.node, scope);
    const elements = children(child.node).filter((n) => elementName(n) !== undefined);
    const nonBlank = children(child.node).some((n) => isText(n) && characters(n).trim() !== '');
    const div = elements[0];
    const isDiv = div !== undefined && elements.length === 1 && !nonBlank &&
      (() => { const name = resolveName(elementName(div) as string, scopeOf(div, inner)); return name.ns === NS.xhtml && name.local === 'div'; })();
    if (!isDiv) {
      throw new AtomMQError('INVALID_ATOM', `atom:${child.local} of type "xhtml" must contain exactly one xhtml:div (RFC 4287 3.1.1.3)`);
    }
  }
  if (child.local === 'published' && !RFC3339.test(textContent(child.node).trim())) {
    throw new AtomMQError('INVALID_ATOM', `atom:published "${textContent(child.node)}" is not an RFC 3339 date-time`);
  }
  if ((child.local === 'author' || child.local === 'contributor') && !children(child.node).some((n) => {
    const name = elementName(n);
    return name !== undefined && resolveName(name, scopeOf(n, scopeOf(child.node, scope))).local === 'name';
  })) {
    throw new AtomMQError('INVALID_ATOM', `atom:${child.local} needs an atom:name`);
  }
  if (child.local === 'link' && attrs.href === undefined) {
    throw new AtomMQError('INVALID_ATOM', 'atom:link needs an href attribute');
  }
  if (child.local === 'category' && attrs.term === undefined) {
    throw new AtomMQError('INVALID_ATOM', 'atom:category needs a term attribute');
  }
}

/** The namespace prefixes ('' for the default) that names in a subtree use. */
function prefixesUsed(node: XmlNode, into: Set<string>): Set<string> {
  const name = elementName(node);
  if (name === undefined) return into;
  into.add(name.includes(':') ? name.slice(0, name.indexOf(':')) : '');
  for (const attr of Object.keys(attributes(node))) {
    if (attr.includes(':') && !attr.startsWith('xmlns:')) into.add(attr.slice(0, attr.indexOf(':')));
  }
  for (const child of children(node)) prefixesUsed(child, into);
  return into;
}

/**
 * Copies the root's namespace declarations that a top-level child relies on onto the child, so it
 * means the same once AtomMQ writes it under a root of its own.
 */
function selfContained(node: XmlNode, rootDeclarations: Record<string, string>): XmlNode {
  const own = attributes(node);
  const used = prefixesUsed(node, new Set());
  const inherited: Record<string, string> = {};
  for (const [attr, uri] of Object.entries(rootDeclarations)) {
    const prefix = attr === 'xmlns' ? '' : attr.slice('xmlns:'.length);
    if (used.has(prefix) && !(attr in own)) inherited[attr] = uri;
  }
  return element(elementName(node) as string, { ...inherited, ...own }, children(node));
}

/**
 * Parses a posted Atom entry document.
 * The original AtomMQ's curl examples post `<entry>` with no namespace at all, so a root with no
 * namespace is read as Atom; any other namespace on the root is refused.
 *
 * @example parseEntryXml('<entry><title>allo</title></entry>').children[0].local // 'title'
 */
export function parseEntryXml(body: string): ParsedEntry {
  const root = parseDocument(body);
  const rootScope = scopeOf(root, ROOT_SCOPE);
  const rootName = resolveName(elementName(root) as string, rootScope);
  if (rootName.local !== 'entry' || (rootName.ns !== NS.atom && rootName.ns !== '')) {
    throw new AtomMQError('INVALID_ATOM', `the root element is {${rootName.ns}}${rootName.local}; expected atom:entry (${NS.atom})`);
  }
  // Children in no namespace are Atom when the root itself is in none (the legacy form above).
  const atomNs = rootName.ns;
  // AtomMQ's own root declares Atom as the default namespace, and app: and am: as usual.
  const declarations = Object.fromEntries(Object.entries(attributes(root)).filter(([attr, uri]) =>
    attr === 'xmlns' ? uri !== NS.atom : attr.startsWith('xmlns:') && !(attr === 'xmlns:app' && uri === NS.app) && !(attr === 'xmlns:am' && uri === NS.am)));
  const kept: EntryChild[] = [];
  const seen = new Map<string, number>();
  let clientId: string | undefined;
  let published: string | undefined;
  for (const node of children(root)) {
    const qname = elementName(node);
    if (qname === undefined) {
      if (isText(node) && characters(node).trim() !== '') {
        throw new AtomMQError('INVALID_ATOM', 'atom:entry contains text outside its child elements');
      }
      continue;
    }
    const resolved = resolveName(qname, scopeOf(node, rootScope));
    const child: EntryChild = { ns: resolved.ns === atomNs ? NS.atom : resolved.ns, local: resolved.local, node };
    if (child.ns === NS.atom) {
      const count = (seen.get(child.local) ?? 0) + 1;
      seen.set(child.local, count);
      if (count > 1 && SINGLE.has(child.local)) {
        throw new AtomMQError('INVALID_ATOM', `atom:entry has more than one atom:${child.local}`);
      }
      if (child.local === 'id') clientId = textContent(node).trim() || undefined;
      if (child.local === 'published') published = textContent(node).trim();
      checkAtomChild(child, rootScope);
    }
    if (isServerOwned(child, attributes(node))) continue;
    kept.push({ ...child, node: selfContained(node, declarations) });
  }
  return { children: kept, clientId, published };
}

/** A string XML can carry: refused here, a NUL would otherwise be reported against XML the client never wrote. */
const text = z.string().refine((v) => !FORBIDDEN_CHAR.test(v), 'contains a control character XML cannot carry');

/** The JSON form of an entry a client may POST: Atom's fields by name. */
const jsonEntry = z.strictObject({
  id: text.min(1).optional(),
  title: text.optional(),
  summary: text.optional(),
  content: z.unknown().refine((v) => typeof v !== 'string' || !FORBIDDEN_CHAR.test(v), 'contains a control character XML cannot carry').optional(),
  contentType: text.min(1).optional(),
  published: text.regex(RFC3339, 'an RFC 3339 date-time').optional(),
  author: personSchema.optional(),
  authors: z.array(personSchema).optional(),
  categories: z.array(z.union([text.min(1), z.strictObject({ term: text.min(1), scheme: text.optional(), label: text.optional() })])).optional(),
  links: z.array(z.strictObject({ href: text.min(1), rel: text.optional(), type: text.optional(), title: text.optional(), hreflang: text.optional() })).optional(),
});

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function attrs(values: Record<string, string | undefined>): string {
  return Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${escapeXml(v as string)}"`).join('');
}

/** An atom:author element for a person. */
export function personXml(p: Person): string {
  return `<author><name>${escapeXml(p.name)}</name>${p.email ? `<email>${escapeXml(p.email)}</email>` : ''}${p.uri ? `<uri>${escapeXml(p.uri)}</uri>` : ''}</author>`;
}

function contentXml(content: unknown, contentType: string | undefined, needsSummary: boolean): string {
  if (content === undefined) return '';
  if (typeof content !== 'string') {
    // Structured content is what JSON users mean by a message. RFC 4287 4.1.3.3 wants a non-text,
    // non-XML type Base64-encoded with a summary; the JSON view decodes it back (render-entry.ts).
    const json = JSON.stringify(content);
    const summary = json.length > 200 ? `${json.slice(0, 199)}…` : json;
    return (needsSummary ? `<summary>${escapeXml(summary)}</summary>` : '') +
      `<content type="${escapeXml(contentType ?? 'application/json')}">${Buffer.from(json).toString('base64')}</content>`;
  }
  const type = contentType ?? 'text';
  if (type === 'xhtml') {
    const div = /^\s*<div[\s>]/.test(content) ? content : `<div xmlns="${NS.xhtml}">${content}</div>`;
    return `<content type="xhtml">${div}</content>`;
  }
  return `<content type="${escapeXml(type)}">${escapeXml(content)}</content>`;
}

/**
 * Turns a JSON entry into the Atom it stands for and parses that, so both bodies share one set of rules.
 *
 * @example parseEntryJson({ title: 'allo', content: { orderId: 42 } })
 */
export function parseEntryJson(value: unknown): ParsedEntry {
  const checked = jsonEntry.safeParse(value);
  if (!checked.success) {
    throw new AtomMQError('INVALID_JSON', checked.error.issues.map(describeIssue).join('; '));
  }
  const e = checked.data;
  const authors = [...(e.author ? [e.author] : []), ...(e.authors ?? [])];
  const xml =
    `<entry xmlns="${NS.atom}">` +
    (e.id ? `<id>${escapeXml(e.id)}</id>` : '') +
    (e.title !== undefined ? `<title>${escapeXml(e.title)}</title>` : '') +
    (e.published ? `<published>${e.published}</published>` : '') +
    authors.map((a) => personXml(toPerson(a))).join('') +
    (e.categories ?? []).map((c) => `<category${attrs(typeof c === 'string' ? { term: c } : c)}/>`).join('') +
    (e.links ?? []).map((l) => `<link${attrs(l)}/>`).join('') +
    (e.summary !== undefined ? `<summary>${escapeXml(e.summary)}</summary>` : '') +
    contentXml(e.content, e.contentType, e.summary === undefined) +
    '</entry>';
  return parseEntryXml(xml);
}
