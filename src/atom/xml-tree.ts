import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { AtomMQError } from '../errors/index.js';
import { NS } from './namespaces.js';

/**
 * A node of fast-xml-parser's order-preserving tree: an element is `{ [qname]: children, ':@'?: attributes }`,
 * text is `{ '#text': string }`, and comments and CDATA sections keep their own keys. Keeping the tree
 * (rather than a mapped object) is what lets AtomMQ store foreign elements and xhtml content as posted.
 */
export type XmlNode = Record<string, unknown>;
export type Attributes = Record<string, string>;

const ATTRS = ':@';
const TEXT = '#text';
const COMMENT = '#comment';
const CDATA = '#cdata';

const treeOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // References are decoded by decodeReferences in one pass: the parser's own HTML-entity decoding
  // costs most of a parse, and XML needs only its five entities and numeric references.
  processEntities: false,
  htmlEntities: false,
  commentPropName: COMMENT,
  cdataPropName: CDATA,
  ignoreDeclaration: true,
  ignorePiTags: true,
  allowBooleanAttributes: false,
} as const;

const parser = new XMLParser(treeOptions);
// The builder escapes what it writes: text and attribute values in the tree are decoded.
const builder = new XMLBuilder({ ...treeOptions, processEntities: true, suppressEmptyNode: true, format: false });

/** Characters XML 1.0 forbids anywhere in a document. */
export const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const MARKUP_WITHOUT_REFERENCES = /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g;
const BAD_REFERENCE = /&(?!(?:amp|lt|gt|quot|apos);|#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};)/;
const NUMERIC_REFERENCE = /&#(x[0-9a-fA-F]+|[0-9]+);/g;
const REFERENCE = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (_m, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
    name ? (NAMED[name] as string) : String.fromCodePoint(hex ? parseInt(hex, 16) : parseInt(dec as string, 10)));
}

/** Decodes references in text and attribute values, in place (not in CDATA or comments, where they are literal). */
function decodeReferences(nodes: XmlNode[]): void {
  for (const node of nodes) {
    if (TEXT in node) {
      node[TEXT] = decode(String(node[TEXT]));
      continue;
    }
    const attrs = node[ATTRS] as Attributes | undefined;
    if (attrs) for (const name of Object.keys(attrs)) attrs[name] = decode(attrs[name] as string);
    const name = elementName(node);
    if (name !== undefined) decodeReferences(node[name] as XmlNode[]);
  }
}

function position(text: string, index: number): string {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 || code === 0xa || code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/**
 * fast-xml-parser is lenient where XML is strict: it passes undefined entities and references to
 * characters XML forbids through as literal text. Those would come back out as different text or as a
 * document no reader accepts, so they are refused here, before parsing.
 */
function checkReferences(text: string): void {
  const blanked = text.replace(MARKUP_WITHOUT_REFERENCES, (m) => m.replace(/[^\n]/g, ' '));
  // Comments and CDATA are blanked and DOCTYPE is refused earlier: any other "<!" is not XML.
  const bogus = blanked.indexOf('<!');
  if (bogus >= 0) throw new AtomMQError('INVALID_XML', `"<!" starts neither a comment nor a CDATA section, at ${position(text, bogus)}`);
  const bad = BAD_REFERENCE.exec(blanked);
  if (bad) {
    throw new AtomMQError('INVALID_XML', `undefined entity or stray "&" at ${position(text, bad.index)}`);
  }
  for (const match of blanked.matchAll(NUMERIC_REFERENCE)) {
    const digits = match[1] ?? '';
    const code = digits.startsWith('x') ? parseInt(digits.slice(1), 16) : parseInt(digits, 10);
    if (!isXmlChar(code)) {
      throw new AtomMQError('INVALID_XML', `character reference ${match[0]} names a character XML forbids, at ${position(text, match.index ?? 0)}`);
    }
  }
}

/**
 * Parses a complete XML document into an order-preserving tree and returns its one root element.
 * Refuses DTDs outright: no entity declarations means no XXE and no entity expansion attacks.
 */
export function parseDocument(text: string): XmlNode {
  const doctype = /<!DOCTYPE|<!ENTITY/.exec(text);
  if (doctype) {
    throw new AtomMQError('FORBIDDEN_XML', `DOCTYPE and entity declarations are not accepted (found at ${position(text, doctype.index)})`);
  }
  const forbidden = FORBIDDEN_CHAR.exec(text);
  if (forbidden) {
    throw new AtomMQError('INVALID_XML', `character U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed in XML, at ${position(text, forbidden.index)}`);
  }
  const verdict = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (verdict !== true) {
    const where = verdict.err.line ? ` at line ${verdict.err.line}${verdict.err.col ? `, column ${verdict.err.col}` : ''}` : '';
    throw new AtomMQError('INVALID_XML', `${verdict.err.msg}${where}`);
  }
  checkReferences(text);
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(text) as XmlNode[];
  } catch (error) {
    // The validator passes a few malformed constructs (processing instructions, CDATA) the parser then rejects.
    throw new AtomMQError('INVALID_XML', (error as Error).message, { cause: error });
  }
  const roots = nodes.filter((node) => elementName(node) !== undefined);
  for (const root of roots) checkNames(root, ROOT_SCOPE);
  decodeReferences(roots);
  if (roots.length !== 1) {
    throw new AtomMQError('INVALID_XML', `a document has exactly one root element, found ${roots.length}`);
  }
  const encoding = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/.exec(text)?.[1];
  if (encoding && !/^(utf-?8|us-ascii)$/i.test(encoding)) {
    throw new AtomMQError('INVALID_ENCODING', `the XML declaration names encoding "${encoding}"; AtomMQ accepts UTF-8 only`);
  }
  return roots[0] as XmlNode;
}

/** The qualified name of an element node, or undefined for text, comments and CDATA. */
export function elementName(node: XmlNode): string | undefined {
  for (const key of Object.keys(node)) {
    if (key !== ATTRS && key !== TEXT && key !== COMMENT && key !== CDATA) return key;
  }
  return undefined;
}

export function attributes(node: XmlNode): Attributes {
  return (node[ATTRS] as Attributes | undefined) ?? {};
}

export function children(node: XmlNode): XmlNode[] {
  const name = elementName(node);
  return name === undefined ? [] : ((node[name] as XmlNode[] | undefined) ?? []);
}

export function isText(node: XmlNode): boolean {
  return TEXT in node || CDATA in node;
}

/** The characters of a text or CDATA node; '' for any other node. */
export function characters(node: XmlNode): string {
  if (TEXT in node) return String(node[TEXT]);
  if (CDATA in node) return (node[CDATA] as XmlNode[]).map((c) => String(c[TEXT] ?? '')).join('');
  return '';
}

/** The concatenated character data directly inside an element (text and CDATA, not descendants). */
export function textContent(node: XmlNode): string {
  return children(node).map(characters).join('');
}

export function element(name: string, attrs: Attributes, content: XmlNode[]): XmlNode {
  return Object.keys(attrs).length ? { [name]: content, [ATTRS]: attrs } : { [name]: content };
}

export function text(value: string): XmlNode {
  return { [TEXT]: value };
}

/** Serialises nodes back to XML text, escaping what needs it. */
export function serialize(nodes: XmlNode[]): string {
  return builder.build(nodes) as string;
}

/** XML 1.0 (fifth edition) Name, which the validator does not enforce for non-ASCII characters. */
const NAME_START = ':A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}';
const XML_NAME = new RegExp(`^[${NAME_START}][${NAME_START}\\-.0-9\u00B7\u0300-\u036F\u203F-\u2040]*$`, 'u');

/**
 * Checks every element and attribute name in a tree: a well-formed XML name, in a declared namespace
 * (Namespaces in XML 1.0), so that what AtomMQ stores is read the same by every namespace-aware parser.
 */
function checkNames(node: XmlNode, parentScope: Scope): void {
  const name = elementName(node);
  if (name === undefined) return;
  if (!XML_NAME.test(name)) throw new AtomMQError('INVALID_XML', `<${name}> is not a valid XML element name`);
  const scope = scopeOf(node, parentScope);
  resolveName(name, scope);
  for (const [attr, value] of Object.entries(attributes(node))) {
    if (!XML_NAME.test(attr)) throw new AtomMQError('INVALID_XML', `"${attr}" on <${name}> is not a valid XML attribute name`);
    if (attr.startsWith('xmlns:')) {
      const prefix = attr.slice(6);
      if (value === '' || prefix === 'xmlns' || (prefix === 'xml') !== (value === NS.xml)) {
        throw new AtomMQError('INVALID_XML', `<${name}> declares ${attr}="${value}", which Namespaces in XML forbids`);
      }
    } else if (attr.includes(':')) {
      resolveName(attr, scope);
    }
  }
  for (const child of children(node)) checkNames(child, scope);
}

/** Namespace declarations in scope: prefix ('' for the default namespace) to URI. */
export type Scope = ReadonlyMap<string, string>;

export const ROOT_SCOPE: Scope = new Map([['xml', NS.xml]]);

/** The scope inside an element: its parent's scope plus the element's own xmlns declarations. */
export function scopeOf(node: XmlNode, parent: Scope): Scope {
  let scope: Map<string, string> | undefined;
  for (const [name, value] of Object.entries(attributes(node))) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      scope ??= new Map(parent);
      scope.set(name === 'xmlns' ? '' : name.slice(6), value);
    }
  }
  return scope ?? parent;
}

/** Resolves an element's qualified name in its own scope; throws on an undeclared prefix. */
export function resolveName(qname: string, scope: Scope): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') {
    throw new AtomMQError('INVALID_XML', `namespace prefix "${prefix}" of "${qname}" is not declared`);
  }
  return { ns: ns ?? '', local };
}
