/**
 * QST v2 messages (DESIGN.md section 11): a `<messages>` document or a JSON array, read into one
 * shape and checked message by message, so that a refusal names the message and the field.
 */
import { AtomMQError } from '../errors/index.js';
import { quoted } from '../errors/quote.js';
import { isDateTime } from './values.js';
import { isXmlText } from './xml-markup.js';
import { parseDocument } from './xml-parse.js';
import { childElements, declaredPrefix, hasText, textContent, type XmlElement } from './xml-tree.js';

/** A property's value: text in XML; JSON may also give a number or a boolean, which a JSON reader gets back as such. */
export type QstValue = string | number | boolean;

export interface QstProperty {
  readonly name: string;
  readonly value: QstValue;
}

export interface QstMessage {
  readonly id?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** RFC 3339. */
  readonly when?: string | undefined;
  readonly subject?: string | undefined;
  readonly body?: string | undefined;
  readonly properties: readonly QstProperty[];
}

/** The fields of a message; in JSON every other member is a property. */
export const QST_FIELDS = ['id', 'from', 'to', 'when', 'subject', 'body'] as const;
type Field = (typeof QST_FIELDS)[number];

/** Most messages in one push: it is one transaction, which holds the writer while it runs. */
export const MAX_BATCH = 1000;
/** Longest id kept, in characters: it is looked up on every push to recognise retries. */
const MAX_ID = 1024;

/**
 * A refusal naming the message (1-based) and the field: `when`, `property:<name>`, or the element
 * or attribute at fault. The problem document carries both as members, for programs.
 */
function invalid(index: number, field: string, detail: string): never {
  throw new AtomMQError('INVALID_MESSAGE', `message ${index + 1}: ${field}: ${detail}`, { members: { message: index + 1, field } });
}

function checkText(index: number, field: string, value: unknown): string {
  if (typeof value !== 'string') invalid(index, field, `${quoted(value)} is not a string`);
  if (!isXmlText(value)) invalid(index, field, 'contains a control character or half of a surrogate pair, which XML cannot carry');
  return value;
}

/** Checks a message's fields and properties, whichever format it came in. */
function checked(index: number, fields: Partial<Record<Field, unknown>>, properties: QstProperty[]): QstMessage {
  const message: Record<string, string | undefined> = {};
  for (const field of QST_FIELDS) message[field] = fields[field] === undefined ? undefined : checkText(index, field, fields[field]);
  const { id, when } = message;
  if (id !== undefined && (id.trim() === '' || id.length > MAX_ID)) invalid(index, 'id', `must be 1 to ${MAX_ID} characters, not all blank`);
  if (when !== undefined && !isDateTime(when)) invalid(index, 'when', `${quoted(when)} is not an RFC 3339 date-time with a real date and time`);
  const names = new Set<string>();
  for (const property of properties) {
    const field = `property:${property.name}`;
    checkText(index, field, property.name);
    if (property.name === '') invalid(index, 'property', 'a property needs a name');
    if ((QST_FIELDS as readonly string[]).includes(property.name)) invalid(index, field, `"${property.name}" is a field of the message, not a property name`);
    if (names.has(property.name)) invalid(index, field, 'is given more than once');
    names.add(property.name);
    if (typeof property.value === 'string') checkText(index, field, property.value);
  }
  return { ...message, properties };
}

/** Refuses a batch that names one id twice: its second message would silently be the first. */
function distinctIds(messages: readonly QstMessage[]): QstMessage[] {
  const seen = new Map<string, number>();
  messages.forEach((m, i) => {
    if (m.id === undefined) return;
    const first = seen.get(m.id);
    if (first !== undefined) invalid(i, 'id', `${quoted(m.id)} is the id of message ${first + 1} too`);
    seen.set(m.id, i);
  });
  return [...messages];
}

function batchSize(count: number): void {
  if (count > MAX_BATCH) throw new AtomMQError('INVALID_MESSAGE', `${count} messages in one push; at most ${MAX_BATCH}`);
}

/** One `<message>` element. */
function xmlMessage(node: XmlElement, index: number): QstMessage {
  if (node.local !== 'message' || node.ns !== '') invalid(index, 'element', `<${node.name}> is not <message>`);
  if (hasText(node)) invalid(index, 'element', '<message> contains text outside its child elements');
  const fields: Partial<Record<Field, string>> = {};
  for (const [name, value] of Object.entries(node.attributes)) {
    if (declaredPrefix(name) !== undefined) continue;
    if (name !== 'id' && name !== 'from' && name !== 'to' && name !== 'when') invalid(index, name, 'is not an attribute of <message>: id, from, to or when');
    fields[name] = value;
  }
  const properties: QstProperty[] = [];
  for (const child of childElements(node)) {
    if (child.ns !== '') invalid(index, `<${child.name}>`, 'is in a namespace; QST elements are in none');
    if (child.local === 'subject' || child.local === 'body') {
      if (fields[child.local] !== undefined) invalid(index, `<${child.local}>`, 'is given more than once');
      if (childElements(child).length > 0) invalid(index, `<${child.local}>`, 'holds elements; it holds text only');
      fields[child.local] = textContent(child);
    } else if (child.local === 'property') {
      const { name, value } = child.attributes;
      if (name === undefined || value === undefined) invalid(index, '<property>', 'needs a name and a value attribute');
      properties.push({ name, value });
    } else invalid(index, `<${child.name}>`, 'is not subject, body or property');
  }
  return checked(index, fields, properties);
}

/**
 * Reads a `<messages>` document. Not well-formed XML is INVALID_XML with its line and column; a
 * well-formed document that is not a batch of valid messages is INVALID_MESSAGE naming the message.
 *
 * @example parseQstXml('<messages><message id="1"><body>hi</body></message></messages>')[0].body // 'hi'
 */
export function parseQstXml(text: string): QstMessage[] {
  const root = parseDocument(text);
  if (root.local !== 'messages' || root.ns !== '') {
    throw new AtomMQError('INVALID_MESSAGE', `the root element is <${root.name}>; a QST push is a <messages> document`);
  }
  if (hasText(root)) throw new AtomMQError('INVALID_MESSAGE', '<messages> contains text outside its <message> elements');
  const nodes = childElements(root);
  batchSize(nodes.length);
  return distinctIds(nodes.map(xmlMessage));
}

/** One JSON message: its fields, and every other member a property. */
function jsonMessage(value: unknown, index: number): QstMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(index, 'message', 'is not a JSON object');
  const fields: Partial<Record<Field, unknown>> = {};
  const properties: QstProperty[] = [];
  for (const [name, member] of Object.entries(value)) {
    if ((QST_FIELDS as readonly string[]).includes(name)) fields[name as Field] = member;
    else if (typeof member === 'string' || typeof member === 'boolean' || (typeof member === 'number' && Number.isFinite(member))) {
      properties.push({ name, value: member });
    } else invalid(index, `property:${name}`, `${quoted(JSON.stringify(member))} is not a string, a number or a boolean`);
  }
  return checked(index, fields, properties);
}

/**
 * Reads a JSON push: an array of message objects (the parsed body).
 *
 * @example parseQstJson([{ id: '1', body: 'hi', priority: 2 }])[0].properties // [{ name: 'priority', value: 2 }]
 */
export function parseQstJson(value: unknown): QstMessage[] {
  if (!Array.isArray(value)) throw new AtomMQError('INVALID_MESSAGE', 'a QST push in JSON is an array of messages');
  batchSize(value.length);
  return distinctIds(value.map(jsonMessage));
}
