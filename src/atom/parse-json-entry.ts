import { z } from 'zod';
import { describeIssue } from '../errors/describe-issue.js';
import { AtomMQError } from '../errors/index.js';
import { NS } from './namespaces.js';
import { entryOf, selfContained, type ParsedEntry } from './parse-entry.js';
import { authorElement, personSchema, toPerson, xmlText } from './person.js';
import { isDateTime, isJsonMediaType, isMediaType, isXmlMediaType } from './values.js';
import { isXmlText } from './xml-markup.js';
import { parseFragment, withoutDeclaration } from './xml-parse.js';
import { element, isElement, ROOT_SCOPE, text, type Attributes, type XmlElement, type XmlNode } from './xml-tree.js';

const mediaType = xmlText.refine(isMediaType, 'is not a media type such as text/plain');

/** The JSON form of an entry a client may POST: Atom's fields by name. */
const jsonEntry = z.strictObject({
  id: xmlText.min(1).optional(),
  title: xmlText.optional(),
  summary: xmlText.optional(),
  content: z.unknown().optional(),
  contentType: xmlText.refine((t) => ['text', 'html', 'xhtml'].includes(t) || isMediaType(t), 'is not text, html, xhtml or a media type such as application/json').optional(),
  published: xmlText.refine(isDateTime, 'is not an RFC 3339 date-time with a real date and time').optional(),
  author: personSchema.optional(),
  authors: z.array(personSchema).optional(),
  categories: z.array(z.union([xmlText.min(1), z.strictObject({ term: xmlText.min(1), scheme: xmlText.optional(), label: xmlText.optional() })])).optional(),
  links: z.array(z.strictObject({ href: xmlText.min(1), rel: xmlText.optional(), type: mediaType.optional(), title: xmlText.optional(), hreflang: xmlText.optional() })).optional(),
});

function atom(name: string, attributes: Attributes, children: readonly XmlNode[] = []): XmlElement {
  return element(name, NS.atom, attributes, children);
}

function textElement(name: string, value: string | undefined): XmlElement[] {
  return value === undefined ? [] : [atom(name, {}, [text(value)])];
}

/** The fields that are set, as attributes. */
function attributesOf(fields: Record<string, string | undefined>): Attributes {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Attributes;
}

/** Markup the client gave as a string, parsed by the same rules as a posted document; the detail names the field. */
function markup(value: string, defaultNs: string): readonly XmlNode[] {
  try {
    return parseFragment(value, defaultNs);
  } catch (error) {
    if (!(error instanceof AtomMQError)) throw error;
    throw new AtomMQError(error.code, `field "content": ${error.message}`, { cause: error });
  }
}

/** Each element of parsed markup made to mean, inside a stored entry, what it meant with `defaultNs` as the default namespace. */
function contained(nodes: readonly XmlNode[], defaultNs: string): XmlNode[] {
  const scope = new Map(ROOT_SCOPE).set('', defaultNs);
  return nodes.map((n) => (isElement(n) ? selfContained(n, scope) : n));
}

/** xhtml content: the inside of the div, or the div itself when the string is one xhtml:div. */
function xhtmlDiv(value: string): XmlNode {
  const nodes = markup(value, NS.xhtml);
  const elements = nodes.filter(isElement);
  const alone = elements.length === 1 && nodes.every((n) => isElement(n) || (n.kind === 'text' && n.value.trim() === ''));
  const div = alone && elements[0]?.ns === NS.xhtml && elements[0].local === 'div' ? elements[0] : element('div', NS.xhtml, {}, nodes);
  return contained([div], NS.xhtml)[0] as XmlNode;
}

/** Cuts a string to at most `length` UTF-16 units without splitting a surrogate pair. */
function cut(value: string, length: number): string {
  const code = value.charCodeAt(length - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}

/**
 * atom:content for a JSON `content` of a given type. With a JSON media type it is any JSON value,
 * Base64-encoded as RFC 4287 4.1.3.3 asks (the JSON view decodes it back, render-entry.ts), with a
 * summary when the client gave none; with any other type it is a string, parsed as that type says.
 */
function contentElements(value: unknown, type: string, hasSummary: boolean): XmlElement[] {
  const content = (children: readonly XmlNode[]): XmlElement => atom('content', { type }, children);
  if (isJsonMediaType(type)) {
    const json = JSON.stringify(value);
    const summary = json.length > 200 ? `${cut(json, 199)}…` : json;
    return [...(hasSummary ? [] : textElement('summary', summary)), content([text(Buffer.from(json).toString('base64'))])];
  }
  if (typeof value !== 'string') {
    throw new AtomMQError('INVALID_JSON', `field "content": content of type "${type}" is a string; a JSON value needs a JSON contentType such as application/json (the default for non-strings)`);
  }
  if (!isXmlText(value)) throw new AtomMQError('INVALID_JSON', 'field "content": contains a control character or half of a surrogate pair, which XML cannot carry');
  if (type === 'xhtml') return [content([xhtmlDiv(value)])];
  if (isXmlMediaType(type)) return [content(contained(markup(withoutDeclaration(value), ''), ''))];
  return [content([text(value)])];
}

/**
 * Builds the Atom a JSON entry stands for, element by element (no string of the client's is ever
 * read as markup unless its type says it is markup), and applies the same rules as to Atom bodies.
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
  const children: XmlElement[] = [
    ...textElement('id', e.id),
    ...textElement('title', e.title),
    ...textElement('published', e.published),
    ...authors.map((a) => authorElement(toPerson(a))),
    ...(e.categories ?? []).map((c) => atom('category', attributesOf(typeof c === 'string' ? { term: c } : c))),
    ...(e.links ?? []).map((l) => atom('link', attributesOf(l))),
    ...textElement('summary', e.summary),
    ...(e.content === undefined ? [] : contentElements(e.content, e.contentType ?? (typeof e.content === 'string' ? 'text' : 'application/json'), e.summary !== undefined)),
  ];
  return entryOf(children);
}
