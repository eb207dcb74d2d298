/** Reading request bodies, for every face: bytes up to a limit, their media type, UTF-8 text, JSON. */
import express, { type Request, type RequestHandler } from 'express';
import { AtomMQError } from '../errors/index.js';

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
 * Reads the body of a request that declares its length, at most the limit, and no Content-Encoding:
 * nearly every POST. Node's parser delivers exactly the declared bytes, so there is nothing to count,
 * inflate or decode, and body-parser's generality (a stream of listeners, async context, checks that
 * cannot fail here) is left to the other requests.
 */
function readDeclared(req: Request, next: (error?: unknown) => void): void {
  const chunks: Buffer[] = [];
  const keep = (chunk: Buffer): void => {
    chunks.push(chunk);
  };
  const settle = (error?: unknown): void => {
    req.off('data', keep).off('end', settle).off('aborted', aborted).off('error', aborted).off('close', aborted);
    if (error === undefined) req.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    next(error);
  };
  // As body-parser reports a client that left before sending its whole body. 'aborted' comes first,
  // while the response can still be written, counted and logged as the 400 it is.
  const aborted = (): void => settle(new AtomMQError('BAD_REQUEST', 'the request body could not be read: request aborted'));
  req.on('data', keep).on('end', settle).on('aborted', aborted).on('error', aborted).on('close', aborted);
}

/**
 * Reads a request's body as raw bytes whatever its declared type (the route checks the type, and
 * bodyText refuses invalid UTF-8 instead of letting a text decoder replace it), up to `limit`.
 *
 * A body past the limit is answered 413 as soon as that is known, and the connection is closed:
 * the body parser alone reads the whole body before it answers, and a client that never stops
 * sending (a chunked upload, a Content-Length of gigabytes) would never get the 413 at all.
 */
export function rawBody(limit: number): RequestHandler {
  const parse = express.raw({ type: () => true, limit });
  const tooLarge = (): AtomMQError => new AtomMQError('PAYLOAD_TOO_LARGE',
    `the request body is larger than the limit of ${limit} bytes`, { headers: { Connection: 'close' } });
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (Number(declared) > limit) {
      next(tooLarge());
      return;
    }
    if (declared !== undefined && req.headers['content-encoding'] === undefined) {
      readDeclared(req, next);
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

/** A request's Content-Type: the media type and its parameters, lowercased. */
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
