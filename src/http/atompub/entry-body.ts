import express, { type Request, type RequestHandler } from 'express';
import { parseEntryJson } from '../../atom/parse-json-entry.js';
import { parseEntryXml, type ParsedEntry } from '../../atom/parse-entry.js';
import { AtomMQError } from '../../errors/index.js';

/**
 * Media types a POST or PUT may carry. `application/x-www-form-urlencoded` is here because it is what
 * `curl -d` sends: the original AtomMQ's examples post XML that way, and they must keep working.
 */
const XML_TYPES = new Set(['application/atom+xml', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded']);
const JSON_TYPE = 'application/json';
export const ACCEPTED_TYPES = [...XML_TYPES, JSON_TYPE].join(', ');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How deeply a JSON body may nest. Far more than a message needs, and far below the depth at which
 * turning the value back into text (JSON.stringify, which recurses) overflows the stack.
 */
export const MAX_JSON_DEPTH = 512;

/** Whether JSON text nests arrays and objects deeper than `max`, found without parsing it. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Reads a POST or PUT body as raw bytes whatever its declared type (readEntry checks the type, and
 * refuses invalid UTF-8 instead of letting a text decoder replace it), up to `limit`.
 *
 * A body past the limit is answered 413 as soon as that is known, and the connection is closed:
 * the body parser alone reads the whole body before it answers, and a client that never stops
 * sending (a chunked upload, a Content-Length of gigabytes) would never get the 413 at all.
 */
export function entryBodyParser(limit: number): RequestHandler {
  const parse = express.raw({ type: () => true, limit });
  const tooLarge = (): AtomMQError => new AtomMQError('PAYLOAD_TOO_LARGE',
    `the request body is larger than the limit of ${limit} bytes`, { headers: { Connection: 'close' } });
  return (req, res, next) => {
    if (Number(req.get('content-length')) > limit) {
      next(tooLarge());
      return;
    }
    let received = 0;
    let settled = false;
    const count = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) settle(tooLarge());
    };
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', count);
      next(error);
    };
    parse(req, res, settle);
    // After the parser's own listener, so that counting never starts the flow of data before it reads.
    if (!settled) req.on('data', count);
  };
}

export function mediaType(req: Request): { type: string | undefined; params: Map<string, string> } {
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

/** Decodes and parses a posted entry. */
export function readEntry(req: Request): ParsedEntry {
  return readEntryWith(req, []).entry;
}

/**
 * Decodes and parses a posted entry, and takes `fields` out of a JSON body: members that say how to
 * deliver the entry (a POST's `deliverAfter`, say) rather than what it is. The body arrives as raw
 * bytes (see app.ts) so that invalid UTF-8 is refused here rather than silently replaced.
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

/** A body's text: UTF-8 only, refused rather than repaired. */
export function bodyText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AtomMQError('INVALID_ENCODING', 'the request body is not valid UTF-8');
  }
}

/** A JSON body's value; one nested deeper than MAX_JSON_DEPTH is refused before it is parsed. */
export function parseJsonBody(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new AtomMQError('INVALID_JSON', `the body nests arrays and objects more than ${MAX_JSON_DEPTH} deep`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AtomMQError('INVALID_JSON', `the body is not valid JSON: ${(error as Error).message}`);
  }
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
