/**
 * QST messages as AtomMQ stores and answers them: each message becomes an entry (`subject` its
 * title, `body` its text content, `when` its published; `from`, `to` and each property elements in
 * the QST namespace), and a pull writes stored entries back as a `<messages>` document or a JSON
 * array. The stored JSON carries the message's own fields in a `qst` member, so a pull reads them
 * without parsing XML, and a JSON property keeps its type.
 */
import { storedFields } from './finish-entry.js';
import { NS } from './namespaces.js';
import { QST_FIELDS, type QstMessage, type QstProperty } from './qst.js';
import { element, text, type XmlElement } from './xml-tree.js';
import { attributesXml, emptyTag, textTag } from './xml-write.js';

/** Ids that are not IRIs, and IRIs that would read as such, are kept under this prefix, percent-encoded. */
const WRAPPED = 'urn:qst:';
const IRI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/**
 * The atom:id of a message's entry. atom:id must be an IRI: an id that is one is used as it is, any
 * other goes under `urn:qst:`, reversibly (see idOfAtomId).
 *
 * @example qstAtomId('24c287Ba-9007') // 'urn:qst:24c287Ba-9007'
 */
export function qstAtomId(id: string): string {
  return IRI.test(id) && !id.startsWith(WRAPPED) ? id : WRAPPED + encodeURIComponent(id);
}

/** The QST id an entry's atom:id stands for. */
export function idOfAtomId(atomId: string): string {
  if (!atomId.startsWith(WRAPPED)) return atomId;
  try {
    return decodeURIComponent(atomId.slice(WRAPPED.length));
  } catch {
    return atomId;
  }
}

function qstElement(local: string, attributes: Record<string, string>, value?: string): XmlElement {
  return element(local, NS.qst, { xmlns: NS.qst, ...attributes }, value === undefined ? [] : [text(value)]);
}

function atomText(local: string, value: string | undefined): XmlElement[] {
  return value === undefined ? [] : [element(local, NS.atom, { type: 'text' }, [text(value)])];
}

/** A property's value type, kept so that JSON gets a number or a boolean back as one. */
function typeOf(value: QstProperty['value']): Record<string, string> {
  return typeof value === 'string' ? {} : { type: typeof value };
}

/** The children of the entry a message becomes (to go through parse-entry.ts entryOf, as any posted entry). */
export function qstEntryChildren(message: QstMessage): XmlElement[] {
  return [
    ...atomText('title', message.subject),
    ...(message.when === undefined ? [] : [element('published', NS.atom, {}, [text(message.when)])]),
    ...(message.from === undefined ? [] : [qstElement('from', {}, message.from)]),
    ...(message.to === undefined ? [] : [qstElement('to', {}, message.to)]),
    ...message.properties.map((p) => qstElement('property', { name: p.name, value: String(p.value), ...typeOf(p.value) })),
    ...atomText('content', message.body),
  ];
}

/** The `qst` member added to the entry's stored JSON: what the Atom fields do not carry. */
export function qstJsonMember(message: QstMessage): string {
  const { id, from, to, properties } = message;
  return `,"qst":${JSON.stringify({ id, from, to, properties })}`;
}

interface StoredJson {
  id?: string;
  title?: unknown;
  content?: unknown;
  published?: string;
  qst?: { id?: string; from?: string; to?: string; properties?: QstProperty[] };
}

/**
 * The message a stored entry's JSON (without braces, as the store keeps it) stands for. An entry
 * published another way is a message too: its atom:id, title, content and published.
 */
export function messageOfJson(json: string): QstMessage {
  const entry = storedFields<StoredJson>(json);
  const { qst } = entry;
  const body = entry.content === undefined ? undefined : typeof entry.content === 'string' ? entry.content : JSON.stringify(entry.content);
  return {
    id: qst?.id ?? (entry.id === undefined ? undefined : idOfAtomId(entry.id)),
    from: qst?.from,
    to: qst?.to,
    when: entry.published,
    subject: typeof entry.title === 'string' && entry.title !== '' ? entry.title : undefined,
    body,
    properties: qst?.properties ?? [],
  };
}

/** A `<messages>` document, as a QST pull answers in XML. */
export function renderQstXml(messages: readonly QstMessage[]): string {
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<messages>';
  for (const m of messages) {
    const attributes = Object.fromEntries((['id', 'from', 'to', 'when'] as const).flatMap((f) => (m[f] === undefined ? [] : [[f, m[f] as string]])));
    out += `\n<message${attributesXml(attributes)}>` +
      (m.subject === undefined ? '' : textTag('subject', m.subject)) +
      (m.body === undefined ? '' : textTag('body', m.body)) +
      m.properties.map((p) => emptyTag('property', { name: p.name, value: String(p.value) })).join('') +
      '</message>';
  }
  return `${out}\n</messages>`;
}

/** A JSON array of messages, each with its fields first and then its properties as members. */
export function renderQstJson(messages: readonly QstMessage[]): string {
  return JSON.stringify(messages.map((m) => {
    const out: Record<string, unknown> = {};
    for (const field of QST_FIELDS) if (m[field] !== undefined) out[field] = m[field];
    for (const p of m.properties) out[p.name] = p.value;
    return out;
  }));
}
