import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AtomMQError } from '../errors/index.js';
import { escapeAttribute } from './escape.js';
import { checkMarkup, FORBIDDEN_CHAR, type Locator } from './xml-markup.js';
import { toTree, type RawNode } from './xml-names.js';
import type { XmlElement, XmlNode } from './xml-tree.js';

/**
 * fast-xml-parser nests one element per level in a loop whose cost grows with the depth, so its own
 * limit on nesting stays on: a body nested deeper is refused before it costs more.
 */
export const MAX_DEPTH = 100;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // References are decoded in xml-names.ts in one pass: the parser's own HTML-entity decoding costs
  // most of a parse, and XML needs only its five entities and numeric references.
  processEntities: false,
  htmlEntities: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  allowBooleanAttributes: false,
  maxNestedTags: MAX_DEPTH,
});

const XML_DECLARATION = /^<\?xml[\s?]/;
const WELL_FORMED_DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(?:\s+encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\4)?\s*\?>/;

function checkDeclaration(text: string): void {
  if (!XML_DECLARATION.test(text)) return;
  const declaration = WELL_FORMED_DECLARATION.exec(text);
  if (!declaration) throw new AtomMQError('INVALID_XML', 'the XML declaration is malformed: it is <?xml version="1.0" encoding="…" standalone="…"?>, in that order');
  const encoding = declaration[3];
  if (encoding && !/^(utf-?8|us-ascii)$/i.test(encoding)) {
    throw new AtomMQError('INVALID_ENCODING', `the XML declaration names encoding "${encoding}"; AtomMQ accepts UTF-8 only`);
  }
}

/**
 * XML given as a string where a fragment is expected (XML content of a JSON entry) may be a whole
 * document, a file read as it is. Its declaration, checked as a document's is, has no place inside
 * an element and is dropped; a `<?xml` anywhere else is still refused by the parse.
 */
export function withoutDeclaration(text: string): string {
  checkDeclaration(text);
  return text.slice(WELL_FORMED_DECLARATION.exec(text)?.[0].length ?? 0);
}

/** The parse shared by documents and fragments: checks, then builds the tree of the one root element. */
function parseRoot(text: string, locate: Locator): XmlElement {
  const doctype = /<!DOCTYPE|<!ENTITY/.exec(text);
  if (doctype) {
    throw new AtomMQError('FORBIDDEN_XML', `DOCTYPE and entity declarations are not accepted (found at ${locate.index(doctype.index)})`);
  }
  const forbidden = FORBIDDEN_CHAR.exec(text);
  if (forbidden) {
    throw new AtomMQError('INVALID_XML', `character U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed in XML, at ${locate.index(forbidden.index)}`);
  }
  // Every XML reader turns CR LF and a lone CR into LF before anything else (XML 1.0, 2.11).
  const normalized = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  const verdict = XMLValidator.validate(normalized, { allowBooleanAttributes: false });
  if (verdict !== true) {
    throw new AtomMQError('INVALID_XML', `${verdict.err.msg}${verdict.err.line ? ` at ${locate.at(verdict.err.line, verdict.err.col)}` : ''}`);
  }
  checkDeclaration(normalized);
  checkMarkup(normalized, locate);
  let nodes: RawNode[];
  try {
    nodes = parser.parse(normalized) as RawNode[];
  } catch (error) {
    const message = (error as Error).message;
    if (/nested tags/i.test(message)) {
      throw new AtomMQError('XML_TOO_COMPLEX', `elements are nested more than ${MAX_DEPTH} deep`, { cause: error });
    }
    // The validator passes a few malformed constructs (processing instructions, CDATA, reserved names) the parser then rejects.
    throw new AtomMQError('INVALID_XML', message, { cause: error });
  }
  const roots = toTree(nodes).filter((node): node is XmlElement => node.kind === 'element');
  if (roots.length !== 1) {
    throw new AtomMQError('INVALID_XML', `a document has exactly one root element, found ${roots.length}`);
  }
  return roots[0] as XmlElement;
}

function lineAndColumn(text: string, index: number): [number, number] {
  const before = text.slice(0, index);
  return [before.split('\n').length, index - before.lastIndexOf('\n')];
}

/**
 * Parses a complete XML document into a tree and returns its one root element. Refuses DTDs
 * outright: no entity declarations means no XXE and no entity expansion attacks. Refuses what
 * Namespaces in XML forbids, so that every namespace-aware reader accepts what AtomMQ stores.
 *
 * @example parseDocument('<a xmlns="urn:x"><b/></a>').ns // 'urn:x'
 */
export function parseDocument(text: string): XmlElement {
  const at = (line: number, column: number): string => `line ${line}, column ${column}`;
  return parseRoot(text, { at, index: (i) => at(...lineAndColumn(text, i)) });
}

/**
 * Parses markup that sits inside an element, with `defaultNs` as its default namespace, by the same
 * rules as a document. It is read inside a wrapper element of its own, so it can only ever be the
 * content of that wrapper: markup that closes more than it opens leaves the wrapper's end tag
 * unmatched, and is refused. Positions in errors are the fragment's own.
 *
 * @example parseFragment('a <b>c</b>', 'http://www.w3.org/1999/xhtml').length // 2
 */
export function parseFragment(fragment: string, defaultNs: string): readonly XmlNode[] {
  const open = `<fragment xmlns="${escapeAttribute(defaultNs)}">`;
  // Line 1 of the fragment follows the wrapper's start tag.
  const at = (line: number, column: number): string => `line ${line}, column ${line === 1 ? Math.max(1, column - open.length) : column}`;
  const text = `${open}${fragment}</fragment>`;
  return parseRoot(text, { at, index: (i) => at(...lineAndColumn(text, i)) }).children;
}
