/**
 * The one catalogue of AtomMQ errors. Each code sits beside its HTTP status, so a
 * route only throws and `http/error-handler.ts` is the single place that answers.
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  INVALID_XML: { status: 400, title: 'Malformed XML' },
  INVALID_ATOM: { status: 400, title: 'Not an Atom entry' },
  INVALID_JSON: { status: 400, title: 'Invalid JSON entry' },
  INVALID_ENCODING: { status: 400, title: 'Invalid character encoding' },
  FORBIDDEN_XML: { status: 400, title: 'Forbidden XML construct' },
  XML_TOO_COMPLEX: { status: 400, title: 'XML beyond the accepted limits' },
  INVALID_CURSOR: { status: 400, title: 'Invalid cursor' },
  INVALID_PARAMETER: { status: 400, title: 'Invalid parameter' },
  INVALID_HEADER: { status: 400, title: 'Invalid header' },
  RECEIPT_INVALID: { status: 400, title: 'Invalid receipt' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  INVALID_MESSAGE: { status: 400, title: 'Invalid message' },
  FEED_NOT_FOUND: { status: 404, title: 'Feed not found' },
  ENTRY_NOT_FOUND: { status: 404, title: 'Entry not found' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  GROUP_NOT_FOUND: { status: 404, title: 'Consumer group not found' },
  QUEUE_EMPTY: { status: 404, title: 'Queue empty' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  LEASE_LOST: { status: 409, title: 'Lease lost' },
  CURSOR_AHEAD: { status: 409, title: 'Cursor ahead of the database' },
  ENTRY_GONE: { status: 410, title: 'Entry deleted' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  IDEMPOTENCY_CONFLICT: { status: 409, title: 'Idempotency key or atom:id reused for another entry' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  UPGRADE_REQUIRED: { status: 426, title: 'Upgrade required' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests' },
  SHUTTING_DOWN: { status: 503, title: 'Shutting down' },
  STORE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error AtomMQ expects and knows how to answer; anything else is a bug (500). */
export class AtomMQError extends Error {
  override readonly name = 'AtomMQError';
  readonly status: number;
  readonly title: string;

  /**
   * @example throw new AtomMQError('FEED_NOT_FOUND', 'no feed named "orders"')
   */
  constructor(
    readonly code: ErrorCode,
    detail: string,
    options: { cause?: unknown; headers?: Record<string, string>; members?: Record<string, unknown> } = {},
  ) {
    super(detail, { cause: options.cause });
    this.status = ERRORS[code].status;
    this.title = ERRORS[code].title;
    this.headers = options.headers ?? {};
    this.members = options.members ?? {};
  }

  /** Extra response headers the error needs (Allow on 405, for instance). */
  readonly headers: Record<string, string>;
  /**
   * Extension members of the problem document (RFC 9457 3.2): what a client needs beyond the code,
   * such as the outcome of every receipt of a batch that was partly refused.
   */
  readonly members: Record<string, unknown>;
}

/** A configuration problem found at the edge; the message names the file and the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}
