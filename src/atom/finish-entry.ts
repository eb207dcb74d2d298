/**
 * A stored entry finished on its way out. render-entry.ts writes each entry once, when it is stored,
 * stopping just before its seq, which is only known at commit time; what is finished here is what
 * differs from one answer to the next: the seq, the elements a face adds (a claim's receipt and
 * lease), and the xml:base of an entry sent on its own.
 */
import type { Rendered } from './render-entry.js';
import { attributesXml, textTag } from './xml-write.js';

/**
 * Elements in AtomMQ's namespace that a face adds to an entry as it sends it, by local name, in
 * order: `{ receipt: 'r1', deliveries: 2, 'lease-expires': '2026-01-01T00:00:30Z' }`. The names are
 * fixed in code, never taken from a request. In Atom each is written `<am:name>value</am:name>`
 * after am:seq (the root of every stored entry and tombstone binds `am`); in JSON each is a field
 * named in camelCase (`leaseExpires`) after `seq`, a number staying a number.
 */
export type AmElements = Readonly<Record<string, string | number>>;

function amXml(am: AmElements): string {
  let out = '';
  for (const [name, value] of Object.entries(am)) out += textTag(`am:${name}`, String(value));
  return out;
}

function amJson(am: AmElements): string {
  let out = '';
  for (const [name, value] of Object.entries(am)) {
    out += `${JSON.stringify(name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()))}:${JSON.stringify(value)},`;
  }
  return out;
}

/**
 * A stored entry's (or tombstone's) Atom, completed with the seq it was committed at.
 *
 * @example xmlWithSeq(rendered, 42, false, { deliveries: 1 }) // '<entry …>…<am:seq>42</am:seq><am:deliveries>1</am:deliveries></entry>'
 */
export function xmlWithSeq(rendered: Rendered, seq: number, deleted: boolean, am?: AmElements): string {
  return `${rendered.xml}<am:seq>${seq}</am:seq>${am ? amXml(am) : ''}${deleted ? '</at:deleted-entry>' : '</entry>'}`;
}

/** A stored entry's JSON, completed with the seq it was committed at: `{"seq":42,…}`. */
export function jsonWithSeq(rendered: Rendered, seq: number, am?: AmElements): string {
  return `{"seq":${seq},${am ? amJson(am) : ''}${rendered.json}}`;
}

/**
 * The fields of a stored entry's JSON, which is kept without its braces (render-entry.ts): what
 * the server reads back of an entry it stored (its schedule, content, ids).
 */
export function storedFields<T>(json: string): T {
  return JSON.parse(`{${json}}`) as T;
}

/** Completes both representations; a page needs only one, and uses the functions above. */
export function withSeq(rendered: Rendered, seq: number, deleted: boolean, am?: AmElements): Rendered {
  return { xml: xmlWithSeq(rendered, seq, deleted, am), json: jsonWithSeq(rendered, seq, am) };
}

/** A finished entry sent on its own, not in a feed: its root gets the base its relative hrefs resolve against. */
export function withXmlBase(xml: string, base: string): string {
  const open = xml.indexOf(' ');
  return `${xml.slice(0, open)}${attributesXml({ 'xml:base': base })}${xml.slice(open)}`;
}
