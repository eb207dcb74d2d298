/**
 * Test-only Atom validation: proves AtomMQ output is valid Atom by parsing it
 * with real parsers instead of matching strings.
 *
 * - validateFeed / validateEntry: namespace-aware DOM (xmldom) checks of the
 *   RFC 4287 section 4 rules, plus RFC 6721 tombstones and RFC 5023 app:edited.
 *   They return human-readable violations, each prefixed with the path of the
 *   offending element, so a failing assertion says what is wrong and where.
 * - validateWithSchema: the RFC 4287 Appendix B RELAX NG grammar run by libxml2.
 *   It is independent of the DOM checks, so a bug in one is caught by the other.
 * - parseWithFeedReader: what a real feed-reader library makes of the document.
 */
import { readFile } from 'node:fs/promises';
import { DOMParser, Node, type Element } from '@xmldom/xmldom';
import FeedParser from 'feedparser';
import sax from 'sax';
import { validateXML } from 'xmllint-wasm';

export const ATOM_NS = 'http://www.w3.org/2005/Atom';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';
export const APP_NS = 'http://www.w3.org/2007/app';
export const TOMBSTONE_NS = 'http://purl.org/atompub/tombstones/1.0';

/** Violations found so far; every check appends to the same list. */
type Violations = string[];

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/** RFC 4287 violations of an Atom Feed Document; empty means valid. */
export function validateFeed(xml: string): string[] {
  return validateDocument(xml, 'feed', checkFeed);
}

/** RFC 4287 violations of a standalone Atom Entry Document; empty means valid. */
export function validateEntry(xml: string): string[] {
  return validateDocument(xml, 'entry', (entry, out) => checkEntry(entry, 'entry', out, { standalone: true }));
}

export interface FeedReaderResult {
  meta: FeedParser.Meta;
  items: FeedParser.Item[];
}

/** Parses the XML the way feed-reader apps do (the `feedparser` stream). */
export function parseWithFeedReader(xml: string): Promise<FeedReaderResult> {
  return new Promise((resolve, reject) => {
    const parser = new FeedParser({});
    const items: FeedParser.Item[] = [];
    parser.on('error', reject);
    parser.on('readable', () => {
      // read() is typed as always returning an Item, but yields null once drained.
      for (let item: FeedParser.Item | null = parser.read(); item !== null; item = parser.read()) {
        items.push(item);
      }
    });
    parser.on('end', () => resolve({ meta: parser.meta as FeedParser.Meta, items }));
    parser.end(xml);
  });
}

const SCHEMA_URL = new URL('../../../test/fixtures/atom.rng', import.meta.url);
let schemaText: Promise<string> | undefined;

/**
 * Violations reported by libxml2 validating against the RFC 4287 Appendix B
 * RELAX NG grammar (test/fixtures/atom.rng); empty means valid. Accepts both
 * feed and entry documents.
 */
export async function validateWithSchema(xml: string): Promise<string[]> {
  schemaText ??= readFile(SCHEMA_URL, 'utf8');
  const result = await validateXML({
    xml: { fileName: 'document.xml', contents: xml },
    schema: { fileName: 'atom.rng', contents: await schemaText },
    extension: 'relaxng',
  });
  return result.errors.map((error) => error.rawMessage);
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

function validateDocument(
  xml: string,
  rootName: 'feed' | 'entry',
  checkRoot: (root: Element, out: Violations) => void,
): string[] {
  const out: Violations = [];
  const root = parseRoot(xml, out);
  if (root === undefined) return out;
  if (!isAtom(root, rootName)) {
    out.push(`root element must be atom:${rootName} in namespace ${ATOM_NS}, found ${describe(root)}`);
    return out;
  }
  checkRoot(root, out);
  return out;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const QNAME = /^[^:\s]+(?::[^:\s]+)?$/;

function declarationError(tag: string, attr: sax.QualifiedAttribute): string | undefined {
  const prefix = attr.name === 'xmlns' ? '' : attr.local;
  if (prefix === 'xmlns') return `<${tag}> declares the xmlns prefix`;
  if ((prefix === 'xml') !== (attr.value === XML_NS)) return `<${tag}> binds ${attr.name} to "${attr.value}": only xml is bound to ${XML_NS}`;
  if (attr.value === XMLNS_NS) return `<${tag}> binds ${attr.name} to ${XMLNS_NS}`;
  if (prefix !== '' && attr.value === '') return `<${tag}> undeclares prefix ${prefix}, which XML 1.0 cannot`;
  return undefined;
}

/**
 * What Namespaces in XML 1.0 forbids and xmldom lets through (it keeps one of two attributes that
 * name the same one under two prefixes, and accepts prefixes bound to reserved namespaces), read
 * with sax's namespace-aware events, as a strict reader such as expat sees it. Empty means none.
 */
export function namespaceErrors(xml: string): string[] {
  const errors: string[] = [];
  const parser = sax.parser(true, { xmlns: true });
  parser.onerror = (error) => {
    errors.push(`sax: ${error.message.split('\n')[0] ?? ''}`);
    parser.resume();
  };
  parser.onopentag = (node) => {
    const tag = node as sax.QualifiedTag;
    if (!QNAME.test(tag.name)) errors.push(`<${tag.name}> is not a QName`);
    const expanded = new Set<string>();
    for (const attr of Object.values(tag.attributes)) {
      if (!QNAME.test(attr.name)) errors.push(`"${attr.name}" on <${tag.name}> is not a QName`);
      if (attr.name === 'xmlns' || attr.prefix === 'xmlns') {
        const error = declarationError(tag.name, attr);
        if (error) errors.push(error);
        continue;
      }
      const key = `{${attr.uri}}${attr.local}`;
      if (expanded.has(key)) errors.push(`<${tag.name}> has the attribute ${key} twice`);
      expanded.add(key);
    }
  };
  parser.write(xml).close();
  return errors;
}

/** Parses namespace-aware; every xmldom diagnostic and every namespace error counts as a violation. */
function parseRoot(xml: string, out: Violations): Element | undefined {
  out.push(...namespaceErrors(xml));
  const parseErrors: string[] = [];
  const parser = new DOMParser({ onError: (level, msg) => parseErrors.push(`XML ${level}: ${msg}`) });
  try {
    const root = parser.parseFromString(xml, 'application/xml').documentElement ?? undefined;
    out.push(...parseErrors);
    return root;
  } catch (error) {
    // Fatal errors are reported to onError and then thrown; report them once.
    const message = error instanceof Error ? error.message : String(error);
    out.push(...parseErrors);
    if (parseErrors.length === 0) out.push(`XML fatalError: ${message}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Feed
// ---------------------------------------------------------------------------

const FEED_METADATA = [
  'author', 'category', 'contributor', 'generator', 'icon', 'id',
  'link', 'logo', 'rights', 'subtitle', 'title', 'updated',
] as const;
const SINGLE_METADATA = ['generator', 'icon', 'id', 'logo', 'rights', 'subtitle', 'title', 'updated'] as const;

function checkFeed(feed: Element, out: Violations): void {
  const path = 'feed';
  for (const name of ['id', 'title', 'updated'] as const) requireOne(feed, name, path, out);
  for (const name of SINGLE_METADATA) atMostOne(feed, name, path, out);
  checkFeedAuthor(feed, out);
  if (!links(feed).some((link) => relOf(link) === 'self')) {
    out.push(`${path}: should contain an atom:link with rel="self" (RFC 4287 4.1.1)`);
  }
  checkAlternateLinksUnique(feed, path, out);
  checkFeedChildren(feed, out);
}

/** RFC 4287 4.1.1: a feed author is required unless every entry has its own. */
function checkFeedAuthor(feed: Element, out: Violations): void {
  if (atomChildren(feed, 'author').length > 0) return;
  atomChildren(feed, 'entry').forEach((entry, index) => {
    if (!entryHasAuthor(entry)) {
      out.push(`feed: missing atom:author, required because entry[${index + 1}] has no atom:author either`);
    }
  });
}

function checkFeedChildren(feed: Element, out: Violations): void {
  let entryIndex = 0;
  for (const child of feed.children) {
    if (isAtom(child, 'entry')) {
      entryIndex += 1;
      checkEntry(child, `feed/entry[${entryIndex}]`, out, { standalone: false });
    } else if (isIn(child, TOMBSTONE_NS, 'deleted-entry')) {
      checkTombstone(child, `feed/at:deleted-entry`, out);
    } else if (child.namespaceURI === ATOM_NS) {
      // The schema orders all feed metadata before the entries.
      if (entryIndex > 0) out.push(`feed: atom:${child.localName} must come before the atom:entry elements`);
      checkMetadataElement(child, 'feed', FEED_METADATA, out);
    }
  }
}

/** RFC 6721 section 3: a tombstone names the deleted entry and when it went. */
function checkTombstone(tombstone: Element, path: string, out: Violations): void {
  const ref = tombstone.getAttribute('ref');
  if (ref === null) out.push(`${path}: missing required attribute ref`);
  else if (!isAbsoluteIri(ref)) out.push(`${path}: ref "${ref}" is not an absolute IRI`);
  const when = tombstone.getAttribute('when');
  if (when === null) out.push(`${path}: missing required attribute when`);
  else if (!isDateTime(when)) out.push(`${path}: when "${when}" is not an RFC 3339 date-time`);
}

// ---------------------------------------------------------------------------
// Entry
// ---------------------------------------------------------------------------

const ENTRY_METADATA = [
  'author', 'category', 'content', 'contributor', 'id', 'link',
  'published', 'rights', 'source', 'summary', 'title', 'updated',
] as const;

function checkEntry(entry: Element, path: string, out: Violations, { standalone }: { standalone: boolean }): void {
  for (const name of ['id', 'title', 'updated'] as const) requireOne(entry, name, path, out);
  for (const name of ['content', 'summary', 'published', 'rights', 'source'] as const) atMostOne(entry, name, path, out);
  // Inside a feed the feed-level author rule covers this (see checkFeedAuthor).
  if (standalone && !entryHasAuthor(entry)) out.push(`${path}: missing atom:author (RFC 4287 4.1.2)`);
  checkContentOrAlternate(entry, path, out);
  checkSummaryRequired(entry, path, out);
  checkAlternateLinksUnique(entry, path, out);
  for (const child of entry.children) {
    if (child.namespaceURI === ATOM_NS) checkMetadataElement(child, path, ENTRY_METADATA, out);
    else if (isIn(child, APP_NS, 'edited')) checkDate(child, `${path}/app:edited`, out);
  }
}

function entryHasAuthor(entry: Element): boolean {
  if (atomChildren(entry, 'author').length > 0) return true;
  return atomChildren(entry, 'source').some((source) => atomChildren(source, 'author').length > 0);
}

/** RFC 4287 4.1.1: without content, readers need somewhere to go instead. */
function checkContentOrAlternate(entry: Element, path: string, out: Violations): void {
  if (atomChildren(entry, 'content').length > 0) return;
  if (!links(entry).some((link) => relOf(link) === 'alternate')) {
    out.push(`${path}: an entry without atom:content must have an atom:link with rel="alternate"`);
  }
}

/** RFC 4287 4.1.1: readers need a summary when the content is not inline text. */
function checkSummaryRequired(entry: Element, path: string, out: Violations): void {
  const content = atomChildren(entry, 'content')[0];
  if (content === undefined || atomChildren(entry, 'summary').length > 0) return;
  if (content.hasAttribute('src')) {
    out.push(`${path}: missing atom:summary, required because atom:content has a src attribute`);
  } else if (isBase64Type(contentType(content))) {
    out.push(`${path}: missing atom:summary, required because atom:content type "${contentType(content)}" is Base64`);
  }
}

// ---------------------------------------------------------------------------
// Metadata elements shared by feed, entry and source
// ---------------------------------------------------------------------------

type ElementCheck = (element: Element, path: string, out: Violations) => void;

const ELEMENT_CHECKS: Record<string, ElementCheck> = {
  author: checkPerson,
  contributor: checkPerson,
  category: checkCategory,
  content: checkContent,
  id: checkId,
  link: checkLink,
  published: checkDate,
  updated: checkDate,
  rights: checkText,
  subtitle: checkText,
  summary: checkText,
  title: checkText,
  source: checkSource,
};

function checkMetadataElement(element: Element, parentPath: string, allowed: readonly string[], out: Violations): void {
  const name = element.localName ?? '';
  const path = `${parentPath}/${name}`;
  if (!allowed.includes(name)) {
    out.push(`${parentPath}: atom:${name} is not allowed here (extensions must use another namespace)`);
    return;
  }
  ELEMENT_CHECKS[name]?.(element, path, out);
}

/** RFC 4287 4.2.11: a source carries the original feed's metadata, all optional. */
function checkSource(source: Element, path: string, out: Violations): void {
  for (const name of SINGLE_METADATA) atMostOne(source, name, path, out);
  for (const child of atomElements(source)) checkMetadataElement(child, path, FEED_METADATA, out);
}

function checkId(id: Element, path: string, out: Violations): void {
  const value = id.textContent ?? '';
  if (!isAbsoluteIri(value)) out.push(`${path}: "${value}" is not an absolute IRI (RFC 4287 4.2.6)`);
}

function checkDate(element: Element, path: string, out: Violations): void {
  const value = element.textContent ?? '';
  if (!isDateTime(value)) out.push(`${path}: "${value}" is not an RFC 3339 date-time (RFC 4287 3.3)`);
}

function checkLink(link: Element, path: string, out: Violations): void {
  if (!link.hasAttribute('href')) out.push(`${path}: atom:link is missing the href attribute (RFC 4287 4.2.7.1)`);
  if (link.getAttribute('rel') === '') out.push(`${path}: rel attribute must not be empty`);
}

function checkCategory(category: Element, path: string, out: Violations): void {
  if (!category.hasAttribute('term')) out.push(`${path}: atom:category is missing the term attribute (RFC 4287 4.2.2.1)`);
}

/** RFC 4287 3.2: one name, at most one uri and email. */
function checkPerson(person: Element, path: string, out: Violations): void {
  requireOne(person, 'name', path, out);
  atMostOne(person, 'uri', path, out);
  atMostOne(person, 'email', path, out);
}

/** RFC 4287 3.1: text constructs are text, html or a single xhtml:div. */
function checkText(element: Element, path: string, out: Violations): void {
  const type = element.getAttribute('type') ?? 'text';
  if (type === 'xhtml') checkXhtmlDiv(element, path, out);
  else if (type === 'text' || type === 'html') checkNoChildElements(element, path, type, out);
  else out.push(`${path}: type "${type}" must be one of text, html, xhtml (RFC 4287 3.1.1)`);
}

/** RFC 4287 4.1.3: content is a text construct, a MIME-typed payload or a src reference. */
function checkContent(content: Element, path: string, out: Violations): void {
  const type = contentType(content);
  if (content.hasAttribute('src')) {
    if (content.childNodes.length > 0) out.push(`${path}: atom:content with src must be empty (RFC 4287 4.1.3.2)`);
    if (isTextConstructType(type)) out.push(`${path}: atom:content with src must have a MIME media type, not "${type}"`);
    return;
  }
  if (type === 'xhtml') checkXhtmlDiv(content, path, out);
  else if (type === 'text' || type === 'html') checkNoChildElements(content, path, type, out);
  else if (!isMediaType(type)) out.push(`${path}: type "${type}" is neither text, html, xhtml nor a MIME media type`);
  else if (isBase64Type(type)) checkBase64(content, path, type, out);
}

function checkXhtmlDiv(element: Element, path: string, out: Violations): void {
  const children = [...element.children];
  const [div] = children;
  if (children.length !== 1 || div === undefined || !isIn(div, XHTML_NS, 'div')) {
    out.push(`${path}: type "xhtml" must contain exactly one xhtml:div child element (namespace ${XHTML_NS})`);
  } else if (hasNonWhitespaceText(element)) {
    out.push(`${path}: type "xhtml" must not have text outside its xhtml:div`);
  }
}

function checkNoChildElements(element: Element, path: string, type: string, out: Violations): void {
  if (element.children.length > 0) {
    out.push(`${path}: type "${type}" must not contain child elements (escape markup instead)`);
  }
}

/** RFC 4287 4.1.3.3 rule 5: non-text, non-XML media types are Base64 encoded. */
function checkBase64(content: Element, path: string, type: string, out: Violations): void {
  const value = (content.textContent ?? '').replace(/\s+/g, '');
  if (content.children.length > 0 || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    out.push(`${path}: atom:content of type "${type}" must be Base64 encoded (RFC 4287 4.1.3.3)`);
  }
}

/** RFC 4287 4.1.1 / 4.1.2: no two alternate links with the same type and hreflang. */
function checkAlternateLinksUnique(parent: Element, path: string, out: Violations): void {
  const seen = new Set<string>();
  for (const link of links(parent).filter((candidate) => relOf(candidate) === 'alternate')) {
    const key = `type="${link.getAttribute('type') ?? ''}" hreflang="${link.getAttribute('hreflang') ?? ''}"`;
    if (seen.has(key)) out.push(`${path}: more than one rel="alternate" atom:link with ${key}`);
    seen.add(key);
  }
}

// ---------------------------------------------------------------------------
// Cardinality helpers
// ---------------------------------------------------------------------------

function requireOne(parent: Element, name: string, path: string, out: Violations): void {
  const count = atomChildren(parent, name).length;
  if (count === 0) out.push(`${path}: missing atom:${name} (exactly one required)`);
}

function atMostOne(parent: Element, name: string, path: string, out: Violations): void {
  const count = atomChildren(parent, name).length;
  if (count > 1) out.push(`${path}: ${count} atom:${name} elements, at most one allowed`);
}

// ---------------------------------------------------------------------------
// DOM and value predicates
// ---------------------------------------------------------------------------

function atomElements(parent: Element): Element[] {
  return [...parent.children].filter((child) => child.namespaceURI === ATOM_NS);
}

function atomChildren(parent: Element, localName: string): Element[] {
  return atomElements(parent).filter((child) => child.localName === localName);
}

function links(parent: Element): Element[] {
  return atomChildren(parent, 'link');
}

/** RFC 4287 4.2.7.2: a link without rel is an alternate link. */
function relOf(link: Element): string {
  return link.getAttribute('rel') ?? 'alternate';
}

function contentType(content: Element): string {
  return content.getAttribute('type') ?? 'text';
}

function isIn(element: Element, namespace: string, localName: string): boolean {
  return element.namespaceURI === namespace && element.localName === localName;
}

function isAtom(element: Element, localName: string): boolean {
  return isIn(element, ATOM_NS, localName);
}

function describe(element: Element): string {
  return `{${element.namespaceURI ?? ''}}${element.localName ?? element.nodeName}`;
}

function hasNonWhitespaceText(element: Element): boolean {
  return [...element.childNodes].some(
    (node) =>
      (node.nodeType === Node.TEXT_NODE || node.nodeType === Node.CDATA_SECTION_NODE) && /\S/.test(node.nodeValue ?? ''),
  );
}

function isTextConstructType(type: string): boolean {
  return type === 'text' || type === 'html' || type === 'xhtml';
}

function isMediaType(type: string): boolean {
  return /^[^/\s]+\/[^/\s]+$/.test(type);
}

function isBase64Type(type: string): boolean {
  if (isTextConstructType(type)) return false;
  const mediaType = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return !(mediaType.startsWith('text/') || mediaType.endsWith('/xml') || mediaType.endsWith('+xml'));
}

/** An absolute IRI starts with a scheme (RFC 3987); no whitespace anywhere. */
function isAbsoluteIri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
}

/** RFC 3339 date-time with the RFC 4287 3.3 rule that T and Z are uppercase. */
const DATE_TIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

function isDateTime(value: string): boolean {
  return DATE_TIME.test(value);
}
