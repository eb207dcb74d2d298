import { z } from 'zod';
import { NS } from './namespaces.js';
import { isXmlText } from './xml-markup.js';
import { element, text, type XmlElement } from './xml-tree.js';

/** An Atom person construct (RFC 4287 3.2). */
export interface Person {
  readonly name: string;
  readonly email?: string | undefined;
  readonly uri?: string | undefined;
}

/** A string from JSON that AtomMQ writes into XML: refused here rather than written as a document no reader accepts. */
export const xmlText = z.string().refine(isXmlText, 'contains a control character or half of a surrogate pair, which XML cannot carry');

/** A person as JSON and feed files write it: a bare name, or `{ name, email, uri }`. */
export const personSchema = z.union([
  xmlText.min(1),
  z.strictObject({ name: xmlText.min(1), email: xmlText.optional(), uri: xmlText.optional() }),
]);

export function toPerson(value: z.infer<typeof personSchema>): Person {
  return typeof value === 'string' ? { name: value } : value;
}

/** An atom:author element for a person, to be written where Atom is the default namespace. */
export function authorElement(p: Person): XmlElement {
  const field = (name: string, value: string | undefined): XmlElement[] => (value ? [element(name, NS.atom, {}, [text(value)])] : []);
  return element('author', NS.atom, {}, [...field('name', p.name), ...field('email', p.email), ...field('uri', p.uri)]);
}
