import { NS } from './namespaces.js';

/**
 * A parsed XML element with its name resolved once, when it was read (see xml-parse.ts). Keeping the
 * tree, comments and CDATA included, is what lets AtomMQ store foreign elements and xhtml as posted.
 */
export interface XmlElement {
  readonly kind: 'element';
  /** The qualified name as written, `prefix:local` or `local`. */
  readonly name: string;
  /** The namespace URI the name resolves to; '' for none. */
  readonly ns: string;
  readonly local: string;
  /** Qualified name to decoded value, namespace declarations included, in document order. */
  readonly attributes: Attributes;
  readonly children: readonly XmlNode[];
}

export interface XmlCharacters {
  readonly kind: 'text' | 'cdata' | 'comment';
  readonly value: string;
}

export type XmlNode = XmlElement | XmlCharacters;
export type Attributes = Readonly<Record<string, string>>;

/** Namespace bindings in scope: prefix ('' for the default namespace) to URI. */
export type Scope = ReadonlyMap<string, string>;

/** What is bound before any declaration: only `xml` (Namespaces in XML 1.0, section 3). */
export const ROOT_SCOPE: Scope = new Map([['xml', NS.xml]]);

/** The prefix of a qualified name; '' when it has none. */
export function prefixOf(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? '' : qname.slice(0, colon);
}

/** The prefix an `xmlns` or `xmlns:p` attribute declares ('' for the default), or undefined for any other attribute. */
export function declaredPrefix(attr: string): string | undefined {
  if (attr === 'xmlns') return '';
  return attr.startsWith('xmlns:') ? attr.slice(6) : undefined;
}

/** An element built in code; its name must already mean `ns` where it will be written. */
export function element(name: string, ns: string, attributes: Attributes, children: readonly XmlNode[]): XmlElement {
  return { kind: 'element', name, ns, local: name.slice(name.indexOf(':') + 1), attributes, children };
}

export function text(value: string): XmlCharacters {
  return { kind: 'text', value };
}

export function isElement(node: XmlNode): node is XmlElement {
  return node.kind === 'element';
}

export function childElements(node: XmlElement): XmlElement[] {
  return node.children.filter(isElement);
}

/** The character data directly inside an element (text and CDATA, not descendants). */
export function textContent(node: XmlElement): string {
  return node.children.map((c) => (c.kind === 'text' || c.kind === 'cdata' ? c.value : '')).join('');
}

/** Whether an element holds character data other than whitespace directly. */
export function hasText(node: XmlElement): boolean {
  return node.children.some((c) => (c.kind === 'text' || c.kind === 'cdata') && c.value.trim() !== '');
}
