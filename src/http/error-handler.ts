import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AtomMQError, type ErrorCode } from '../errors/index.js';
import { requestIdFor } from './access-log.js';
import type { AppContext } from './context.js';

/** body-parser reports its failures as http-errors with a `type`; these are the ones a client causes. */
const BODY_PARSER_ERRORS: Record<string, ErrorCode> = {
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.aborted': 'BAD_REQUEST',
  'request.size.invalid': 'BAD_REQUEST',
  'stream.encoding.set': 'BAD_REQUEST',
};

/** Statuses body-parser gives the client errors it does not type (a corrupt gzip body, for one). */
const BY_STATUS: Record<number, ErrorCode> = { 400: 'BAD_REQUEST', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

function asAtomMQError(error: unknown): AtomMQError | undefined {
  if (error instanceof AtomMQError) return error;
  // The router decodes path parameters: malformed or overlong percent-encoding (%ZZ, %C0%AE) is the client's.
  if (error instanceof URIError) {
    return new AtomMQError('BAD_REQUEST', `the URL path is not valid percent-encoded UTF-8 (${error.message})`, { cause: error });
  }
  const { type, status, expose, limit } = (error ?? {}) as { type?: unknown; status?: unknown; expose?: unknown; limit?: number };
  const code = typeof type === 'string' && type in BODY_PARSER_ERRORS
    ? BODY_PARSER_ERRORS[type]
    : expose === true && typeof status === 'number' ? BY_STATUS[status] : undefined;
  if (code === undefined) return undefined;
  const detail = code === 'PAYLOAD_TOO_LARGE'
    ? `the request body is larger than the limit of ${limit ?? '?'} bytes`
    : `the request body could not be read: ${(error as Error).message}`;
  return new AtomMQError(code, detail, { cause: error });
}

/**
 * The one place that turns an error into a response: an RFC 9457 problem document. Known errors
 * answer with their own status and are logged at info; anything else is a bug, logged in full and
 * answered with a bare 500.
 */
export function errorHandler(ctx: AppContext): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = problemFor(ctx, error, req.method, req.originalUrl, requestIdFor(res));
    res.status(problem.status).set(problem.headers).type('application/problem+json').send(problem.body);
  };
}

export interface ProblemAnswer {
  readonly status: number;
  readonly title: string;
  readonly headers: Record<string, string>;
  /** The `application/problem+json` document. */
  readonly body: string;
}

/**
 * The answer to an error, logged: errorHandler sends it through Express, the WebSocket upgrade
 * path (which has no Express response) writes it on the raw socket.
 */
export function problemFor(ctx: AppContext, error: unknown, method: string | undefined, url: string | undefined,
  reqId: string | undefined): ProblemAnswer {
  const known = asAtomMQError(error);
  const status = known?.status ?? 500;
  const code: ErrorCode | 'INTERNAL' = known?.code ?? 'INTERNAL';
  if (known) ctx.logger.info({ reqId, code, status, method, url }, known.message);
  else ctx.logger.error({ reqId, err: error, method, url }, 'unhandled error');
  const title = known?.title ?? 'Internal server error';
  const problem = {
    ...known?.members,
    type: `tag:atommq.org,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    detail: known?.message ?? 'an unexpected error occurred; it has been logged',
    code,
    instance: url,
  };
  return { status, title, headers: known?.headers ?? {}, body: `${JSON.stringify(problem)}\n` };
}

/** 404 for a path no router claims. */
export const notFound: RequestHandler = (req) => {
  throw new AtomMQError('NOT_FOUND', `nothing is served at ${req.path}`);
};

/** For a path that exists but not with this method; `allow` lists the methods that do. */
export function methodNotAllowed(allow: string): RequestHandler {
  return (req) => {
    throw new AtomMQError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allow}`, { headers: { Allow: allow } });
  };
}

/**
 * Writes a problem answer straight on a socket and closes it, for requests Express never sees: a
 * WebSocket upgrade that is refused, or a request Node's HTTP parser could not read.
 */
export function refuseOnSocket(ctx: AppContext, socket: Duplex, error: unknown, method: string | undefined, url: string | undefined,
  reqId?: string): void {
  const problem = problemFor(ctx, error, method, url, reqId);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const headers = {
    'Content-Type': 'application/problem+json',
    'Content-Length': String(Buffer.byteLength(problem.body)),
    Connection: 'close',
    ...(reqId === undefined ? {} : { 'X-Request-Id': reqId }),
    ...problem.headers,
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? problem.title}\r\n${head}\r\n${problem.body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
