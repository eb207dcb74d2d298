import { AtomMQError } from '../errors/index.js';
import { NS } from './namespaces.js';
import { decodeReferences } from './xml-markup.js';
import { declaredPrefix, prefixOf, ROOT_SCOPE, type XmlNode } from './xml-tree.js';

/** A node of fast-xml-parser's order-preserving tree: `{ [qname]: children, ':@'?: attributes }`, or text, CDATA, a comment. */
export type RawNode = Record<string, unknown>;
type RawAttributes = Record<string, string>;

const ATTRS = ':@';
const TEXT = '#text';
const COMMENT = '#comment';
const CDATA = '#cdata';

/**
 * More declarations than this on one element are refused: no real document needs them, and each
 * is work for every reader of every page the entry is on.
 */
export const MAX_DECLARATIONS_PER_ELEMENT = 100;

/** NCName (Namespaces in XML 1.0): an XML 1.0 (fifth edition) Name without colons. */
const NAME_START = 'A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}';
const NCNAME = `[${NAME_START}][${NAME_START}\\-.0-9\u00B7\u0300-\u036F\u203F-\u2040]*`;
const QNAME = new RegExp(`^(?:${NCNAME}:)?${NCNAME}$`, 'u');

function rawName(node: RawNode): string | undefined {
  for (const key of Object.keys(node)) {
    if (key !== ATTRS && key !== TEXT && key !== COMMENT && key !== CDATA) return key;
  }
  return undefined;
}

/** The characters of a CDATA section or comment, which the parser nests as text nodes. */
function innerText(value: unknown): string {
  return (value as RawNode[]).map((c) => String(c[TEXT] ?? '')).join('');
}

/**
 * An attribute value as every reader sees it (XML 1.0, 3.3.3): literal tabs and newlines become
 * spaces, references become their characters. A raw "<" is not well-formed, though the validator passes it.
 */
function attributeValue(element: string, attr: string, raw: string): string {
  if (raw.includes('<')) throw new AtomMQError('INVALID_XML', `the value of ${attr} on <${element}> contains "<", which must be written &lt;`);
  return decodeReferences(raw.replace(/[\t\n]/g, ' '));
}

function checkDeclaration(element: string, attr: string, prefix: string, uri: string): void {
  const forbidden =
    prefix === 'xmlns' ? 'the xmlns prefix is bound by definition and is never declared'
    : (prefix === 'xml') !== (uri === NS.xml) ? `only the xml prefix is bound to ${NS.xml}, and it only to that`
    : uri === NS.xmlns ? `${NS.xmlns} is bound to no prefix`
    : prefix !== '' && uri === '' ? 'a prefix cannot be undeclared in XML 1.0'
    : undefined;
  if (forbidden) throw new AtomMQError('INVALID_XML', `<${element}> declares ${attr}="${uri}": ${forbidden} (Namespaces in XML 1.0)`);
}

/**
 * One conversion's state: the bindings in scope, one map changed on the way down and restored on
 * the way up, so the cost is one step per name and declaration, whatever the depth or the number of
 * them; and the names already checked, since names repeat and each distinct one is matched against
 * the QName pattern once.
 */
class TreeBuilder {
  private readonly scope = new Map(ROOT_SCOPE);
  private readonly qnames = new Set<string>();

  convert(raw: readonly RawNode[]): XmlNode[] {
    return raw.map((node): XmlNode => {
      const name = rawName(node);
      if (name !== undefined) return this.element(name, node);
      if (CDATA in node) return { kind: 'cdata', value: innerText(node[CDATA]) };
      if (COMMENT in node) {
        const value = innerText(node[COMMENT]);
        if (value.includes('--') || value.endsWith('-')) throw new AtomMQError('INVALID_XML', `a comment contains "--" or ends with "-": <!--${value.slice(0, 40)}…`);
        return { kind: 'comment', value };
      }
      const value = String(node[TEXT]);
      if (value.includes(']]>')) throw new AtomMQError('INVALID_XML', 'text contains "]]>", which must be written ]]&gt;');
      return { kind: 'text', value: decodeReferences(value) };
    });
  }

  private element(name: string, node: RawNode): XmlNode {
    if (!this.isQName(name)) throw new AtomMQError('INVALID_XML', `<${name}> is not a valid element name (a QName: prefix:local or local)`);
    if (prefixOf(name) === 'xmlns') throw new AtomMQError('INVALID_XML', `<${name}>: no element name has the prefix xmlns`);
    const attributes = this.attributesOf(name, node[ATTRS] as RawAttributes | undefined);
    const undo = this.declare(name, attributes);
    const ns = this.resolve(name, `<${name}>`);
    this.checkExpandedNames(name, attributes);
    const children = this.convert(node[name] as RawNode[]);
    for (let i = undo.length - 1; i >= 0; i -= 1) {
      const [prefix, previous] = undo[i] as [string, string | undefined];
      if (previous === undefined) this.scope.delete(prefix);
      else this.scope.set(prefix, previous);
    }
    return { kind: 'element', name, ns, local: name.slice(name.indexOf(':') + 1), attributes: Object.fromEntries(attributes), children };
  }

  private isQName(name: string): boolean {
    return this.qnames.has(name) || (QNAME.test(name) && this.qnames.add(name) !== undefined);
  }

  private resolve(qname: string, what: string): string {
    const prefix = prefixOf(qname);
    const ns = this.scope.get(prefix);
    if (ns === undefined && prefix !== '') throw new AtomMQError('INVALID_XML', `the prefix "${prefix}" of ${what} is not declared`);
    return ns ?? '';
  }

  private attributesOf(name: string, raw: RawAttributes | undefined): Array<[string, string]> {
    if (raw === undefined) return [];
    const entries = Object.entries(raw);
    const declarations = entries.filter(([attr]) => declaredPrefix(attr) !== undefined).length;
    if (declarations > MAX_DECLARATIONS_PER_ELEMENT) {
      throw new AtomMQError('XML_TOO_COMPLEX', `<${name}> declares ${declarations} namespaces; at most ${MAX_DECLARATIONS_PER_ELEMENT} are accepted on one element`);
    }
    return entries.map(([attr, value]) => {
      if (!this.isQName(attr)) throw new AtomMQError('INVALID_XML', `"${attr}" on <${name}> is not a valid attribute name (a QName: prefix:local or local)`);
      return [attr, attributeValue(name, attr, value)];
    });
  }

  /** Brings an element's declarations into scope; returns what to put back once its children are read. */
  private declare(name: string, attributes: ReadonlyArray<[string, string]>): Array<[string, string | undefined]> {
    const undo: Array<[string, string | undefined]> = [];
    for (const [attr, uri] of attributes) {
      const prefix = declaredPrefix(attr);
      if (prefix === undefined) continue;
      checkDeclaration(name, attr, prefix, uri);
      undo.push([prefix, this.scope.get(prefix)]);
      this.scope.set(prefix, uri);
    }
    return undo;
  }

  /** No element has one attribute twice under two prefixes bound to one URI. */
  private checkExpandedNames(name: string, attributes: ReadonlyArray<[string, string]>): void {
    const expanded = new Set<string>();
    for (const [attr] of attributes) {
      if (!attr.includes(':') || declaredPrefix(attr) !== undefined) continue;
      // A local name has no space, so "local uri" names one expanded name.
      const key = `${attr.slice(attr.indexOf(':') + 1)} ${this.resolve(attr, `"${attr}" on <${name}>`)}`;
      if (expanded.has(key)) throw new AtomMQError('INVALID_XML', `<${name}> has the attribute ${key.replace(' ', ' of namespace ')} twice, under two prefixes`);
      expanded.add(key);
    }
  }
}

/**
 * Builds the tree of parsed nodes and checks Namespaces in XML on the way: names are QNames, every
 * prefix is declared, declarations are allowed ones, and no element has one attribute twice under
 * two prefixes of one URI, at a cost of one step per name and declaration.
 */
export function toTree(nodes: readonly RawNode[]): XmlNode[] {
  return new TreeBuilder().convert(nodes);
}
