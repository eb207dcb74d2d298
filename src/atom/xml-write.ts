/**
 * The one way AtomMQ writes XML: strings, with every value through escape.ts. Every document takes
 * it: stored entries, feed pages, the service document.
 *
 * Why strings and not a builder: writing sits on the hottest paths. An entry is written once per
 * POST, as large as the body limit, and a feed page is its head followed by entries written when
 * they were stored; a builder costs many times more (xmlbuilder2 took about 1 ms for a service
 * document of 20 feeds, and more for a feed's head than the rest of a page read), and it checks
 * nothing that matters here: the names written are fixed in this code or were checked when parsed
 * (xml-names.ts), and the values are what escaping is for. A builder is also one more escaping to
 * get right: xmlbuilder2 passes `&name;` through as a reference and writes a CR as it is.
 */
import { escapeAttribute, escapeText } from './escape.js';
import { isElement, type Attributes, type XmlNode } from './xml-tree.js';

/** ` name="value"` for each attribute, in order; the names must be fit to write as they are. */
export function attributesXml(attributes: Attributes): string {
  let out = '';
  for (const [name, value] of Object.entries(attributes)) out += ` ${name}="${escapeAttribute(value)}"`;
  return out;
}

/** @example textTag('am:receipt', 'a&b') // '<am:receipt>a&amp;b</am:receipt>' */
export function textTag(name: string, value: string): string {
  return `<${name}>${escapeText(value)}</${name}>`;
}

/** @example emptyTag('link', { rel: 'self', href: '?a&b' }) // '<link rel="self" href="?a&amp;b"/>' */
export function emptyTag(name: string, attributes: Attributes): string {
  return `<${name}${attributesXml(attributes)}/>`;
}

/**
 * Writes parsed or built nodes as XML, so that what was read comes back as the same characters to
 * any reader, and nothing in a value can become markup.
 */
export function serialize(nodes: readonly XmlNode[]): string {
  let out = '';
  for (const node of nodes) {
    if (isElement(node)) {
      const open = `<${node.name}${attributesXml(node.attributes)}`;
      out += node.children.length ? `${open}>${serialize(node.children)}</${node.name}>` : `${open}/>`;
    } else if (node.kind === 'text') {
      out += escapeText(node.value);
    } else {
      // Both come from the parser, which ends a CDATA section at its first "]]>" and refuses "--" in a comment.
      out += node.kind === 'cdata' ? `<![CDATA[${node.value}]]>` : `<!--${node.value}-->`;
    }
  }
  return out;
}
