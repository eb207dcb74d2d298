import type { Request } from 'express';
import { parseEntryJson } from '../../atom/parse-json-entry.js';
import { parseEntryXml, type ParsedEntry } from '../../atom/parse-entry.js';
import { AtomMQError } from '../../errors/index.js';
import { bodyText, mediaType, parseJsonBody } from '../body.js';

/**
 * Media types a POST or PUT may carry. `application/x-www-form-urlencoded` is here because it is what
 * `curl -d` sends: the original AtomMQ's examples post XML that way, and they must keep working.
 */
const XML_TYPES = new Set(['application/atom+xml', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded']);
const JSON_TYPE = 'application/json';
export const ACCEPTED_TYPES = [...XML_TYPES, JSON_TYPE].join(', ');

/** Whether the client sent JSON, so the answer can be in the same form. */
export function isJsonBody(req: Request): boolean {
  return mediaType(req).type === JSON_TYPE;
}

/** Decodes and parses a posted entry. */
export function readEntry(req: Request): ParsedEntry {
  return readEntryWith(req, []).entry;
}

/**
 * Decodes and parses a posted entry, and takes `fields` out of a JSON body: members that say how to
 * deliver the entry (a POST's `deliverAfter`, say) rather than what it is. The body arrives as raw
 * bytes (rawBody in ../body.ts) so that invalid UTF-8 is refused here rather than silently replaced.
 */
export function readEntryWith<F extends string>(req: Request, fields: readonly F[]): { entry: ParsedEntry; taken: Partial<Record<F, unknown>> } {
  const { type, params } = mediaType(req);
  if (type === undefined) {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `the request has no Content-Type; send one of ${ACCEPTED_TYPES}`);
  }
  if (!XML_TYPES.has(type) && type !== JSON_TYPE) {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `Content-Type "${type}" is not accepted; send one of ${ACCEPTED_TYPES}`);
  }
  if (type === 'application/atom+xml' && params.has('type') && params.get('type') !== 'entry') {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `a collection accepts Atom entries, not type=${params.get('type')}`);
  }
  const charset = params.get('charset');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `charset "${charset}" is not accepted; send UTF-8`);
  }
  const bytes: unknown = req.body;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
    throw new AtomMQError('BAD_REQUEST', 'the request body is empty; send an Atom entry or a JSON object');
  }
  const text = bodyText(bytes);
  if (type !== JSON_TYPE) return { entry: parseEntryXml(text), taken: {} };
  const { rest, taken } = takeFields(parseJsonBody(text), fields);
  return { entry: parseEntryJson(rest), taken };
}

/** Splits `fields` off a JSON object; any other value is left whole, for the entry parser to refuse. */
function takeFields<F extends string>(value: unknown, fields: readonly F[]): { rest: unknown; taken: Partial<Record<F, unknown>> } {
  const taken: Partial<Record<F, unknown>> = {};
  if (fields.length === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return { rest: value, taken };
  const rest: Record<string, unknown> = { ...value };
  for (const field of fields) {
    if (Object.hasOwn(rest, field)) taken[field] = rest[field];
    delete rest[field];
  }
  return { rest, taken };
}
