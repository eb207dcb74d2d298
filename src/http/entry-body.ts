import express, { type Request, type RequestHandler } from 'express';
import { parseEntryJson } from '../atom/parse-json-entry.js';
import { parseEntryXml, type ParsedEntry } from '../atom/parse-entry.js';
import { AtomMQError } from '../errors/index.js';

/**
 * Media types a POST or PUT may carry. `application/x-www-form-urlencoded` is here because it is what
 * `curl -d` sends: the original AtomMQ's examples post XML that way, and they must keep working.
 */
const XML_TYPES = new Set(['application/atom+xml', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded']);
const JSON_TYPE = 'application/json';
export const ACCEPTED_TYPES = [...XML_TYPES, JSON_TYPE].join(', ');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a POST or PUT body as raw bytes whatever its declared type (readEntry checks the type, and
 * refuses invalid UTF-8 instead of letting a text decoder replace it), up to `limit`.
 */
export function entryBodyParser(limit: number): RequestHandler {
  return express.raw({ type: () => true, limit });
}

function mediaType(req: Request): { type: string | undefined; params: Map<string, string> } {
  const header = req.get('content-type');
  if (!header) return { type: undefined, params: new Map() };
  const [type = '', ...rest] = header.split(';');
  const params = new Map(rest.map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase()] as [string, string];
  }));
  return { type: type.trim().toLowerCase(), params };
}

/** Whether the client sent JSON, so the answer can be in the same form. */
export function isJsonBody(req: Request): boolean {
  return mediaType(req).type === JSON_TYPE;
}

/**
 * Decodes and parses a posted entry. The body arrives as raw bytes (see app.ts) so that invalid
 * UTF-8 is refused here rather than silently replaced.
 */
export function readEntry(req: Request): ParsedEntry {
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
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AtomMQError('INVALID_ENCODING', 'the request body is not valid UTF-8');
  }
  if (type !== JSON_TYPE) return parseEntryXml(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AtomMQError('INVALID_JSON', `the body is not valid JSON: ${(error as Error).message}`);
  }
  return parseEntryJson(value);
}
