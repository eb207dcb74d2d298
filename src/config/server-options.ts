import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { parseDsn, type Dsn } from './dsn.js';

/** Server options after validation: frozen, with every default filled in. */
export interface ServerOptions {
  /** @defaultValue 8080 */
  readonly port: number;
  /** @defaultValue every interface */
  readonly host?: string | undefined;
  /** @defaultValue ./feeds */
  readonly feedsDir: string;
  /** @defaultValue sqlite:./data/atommq.db */
  readonly db: Dsn;
  /** @defaultValue fsync */
  readonly durability: 'fsync' | 'lose-on-power-failure';
  /** Largest request body accepted, in bytes. @defaultValue 1 MiB */
  readonly bodyLimit: number;
  /**
   * Absolute http(s) URL clients reach the server at (behind a proxy), without a trailing slash: when
   * set, every absolute URL the server writes starts with it, whatever the request's Host.
   * @defaultValue from each request's Host
   */
  readonly baseUrl?: string | undefined;
  /** Seconds a client has to send a request's headers; a slower connection is closed (slowloris). @defaultValue 10 */
  readonly headersTimeout: number;
  /**
   * Seconds a client has to send a whole request, body included. Only receiving counts: held
   * responses (long-polls, streams) are not cut by it. @defaultValue 30
   */
  readonly requestTimeout: number;
  /** @defaultValue info */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * The access log, one line per answered request: `on`, in the server's log (at info); `off`,
   * nowhere; any other value is a file that gets them as JSON lines (appended, whatever the log
   * level), instead of the server's log. @defaultValue on
   */
  readonly accessLog: string;
  /** How often retention is enforced, in seconds. @defaultValue 10 */
  readonly pruneInterval: number;
  /** Seconds between keep-alives on live streams: an SSE comment, a comet blank line, a WebSocket ping. @defaultValue 15 */
  readonly heartbeat: number;
  /**
   * Messages a live stream may have waiting for a slow reader; one that falls further behind is
   * disconnected (it resumes from its cursor). @defaultValue 1024
   */
  readonly streamBuffer: number;
  /**
   * Largest page, counted in characters of the stored entries (bytes, for ASCII): a GET page or a
   * stream's backlog read stops before the entry that would exceed it (one entry at least), so
   * entries of a few MiB each never make a page of hundreds of MiB. @defaultValue 4 MiB
   */
  readonly pageBytes: number;
  /**
   * What a live stream may have waiting for a slow reader, in the same measure; beyond it the reader
   * is disconnected as beyond `streamBuffer` messages. @defaultValue 8 MiB
   */
  readonly streamBufferBytes: number;
  /** The access file (principals and grants, DESIGN.md section 14). @defaultValue none: the server is open to all */
  readonly access?: string | undefined;
  /** PEM certificate (chain) and its private key: with both the server speaks HTTPS and WSS only. @defaultValue none: plain HTTP */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Origins (`https://app.example`) whose pages may call and stream from the server; `*` for any. @defaultValue none */
  readonly cors: readonly string[];
  /** Connections one client address may hold open; beyond it, requests are answered 429. @defaultValue 256 */
  readonly maxConnectionsPerClient: number;
  /** Live streams (server-sent events, WebSocket, comet) one client address may hold open. @defaultValue 64 */
  readonly maxStreamsPerClient: number;
  /**
   * Whether the RestMQ routes create a queue (a feed without a file) the first time they are used
   * with a name no feed has; when false, an unknown name is a 404. @defaultValue true
   */
  readonly autoCreate: boolean;
}

/** Raw option values as given on the command line or in the environment, before validation. */
export type RawOptions = Partial<Record<keyof typeof OPTION_SOURCES, string | undefined>>;

/** Where each option comes from: its flag, then its environment variable. */
export const OPTION_SOURCES = {
  port: { flag: '--port', env: 'PORT' },
  host: { flag: '--host', env: 'HOST' },
  feedsDir: { flag: '--feeds', env: 'ATOMMQ_FEEDS' },
  db: { flag: '--db', env: 'ATOMMQ_DB' },
  durability: { flag: '--durability', env: 'ATOMMQ_DURABILITY' },
  bodyLimit: { flag: '--body-limit', env: 'ATOMMQ_BODY_LIMIT' },
  baseUrl: { flag: '--base-url', env: 'ATOMMQ_BASE_URL' },
  headersTimeout: { flag: '--headers-timeout', env: 'ATOMMQ_HEADERS_TIMEOUT' },
  requestTimeout: { flag: '--request-timeout', env: 'ATOMMQ_REQUEST_TIMEOUT' },
  logLevel: { flag: '--log-level', env: 'ATOMMQ_LOG_LEVEL' },
  accessLog: { flag: '--access-log', env: 'ATOMMQ_ACCESS_LOG' },
  pruneInterval: { flag: '--prune-interval', env: 'ATOMMQ_PRUNE_INTERVAL' },
  heartbeat: { flag: '--heartbeat', env: 'ATOMMQ_HEARTBEAT' },
  streamBuffer: { flag: '--stream-buffer', env: 'ATOMMQ_STREAM_BUFFER' },
  pageBytes: { flag: '--page-bytes', env: 'ATOMMQ_PAGE_BYTES' },
  streamBufferBytes: { flag: '--stream-buffer-bytes', env: 'ATOMMQ_STREAM_BUFFER_BYTES' },
  access: { flag: '--access', env: 'ATOMMQ_ACCESS' },
  tlsCert: { flag: '--tls-cert', env: 'ATOMMQ_TLS_CERT' },
  tlsKey: { flag: '--tls-key', env: 'ATOMMQ_TLS_KEY' },
  cors: { flag: '--cors', env: 'ATOMMQ_CORS' },
  maxConnectionsPerClient: { flag: '--max-connections-per-client', env: 'ATOMMQ_MAX_CONNECTIONS_PER_CLIENT' },
  maxStreamsPerClient: { flag: '--max-streams-per-client', env: 'ATOMMQ_MAX_STREAMS_PER_CLIENT' },
  autoCreate: { flag: '--auto-create', env: 'ATOMMQ_AUTO_CREATE' },
} as const;

const MIB = 1024 * 1024;

const schema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).optional(),
  feedsDir: z.string().min(1).default('./feeds'),
  db: z.string().min(1).default('sqlite:./data/atommq.db'),
  durability: z.enum(['fsync', 'lose-on-power-failure']).default('fsync'),
  bodyLimit: z.coerce.number().int().min(1024).default(MIB),
  baseUrl: z.url({ protocol: /^https?$/ })
    .transform((text) => new URL(text))
    .refine((url) => !url.search && !url.hash && !url.username && !url.password, 'must be an http(s) URL without query, fragment or credentials')
    // Normalised, so that what goes into every Location, Link and xml:base is a well-formed URL.
    .transform((url) => url.href.replace(/\/+$/, ''))
    .optional(),
  headersTimeout: z.coerce.number().min(0.1).max(3600).default(10),
  requestTimeout: z.coerce.number().min(0.1).max(3600).default(30),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  accessLog: z.string().min(1).default('on'),
  pruneInterval: z.coerce.number().positive().default(10),
  heartbeat: z.coerce.number().positive().max(3600).default(15),
  streamBuffer: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  pageBytes: z.coerce.number().int().min(1024).max(2 ** 30).default(4 * MIB),
  streamBufferBytes: z.coerce.number().int().min(1024).max(2 ** 30).default(8 * MIB),
  access: z.string().min(1).optional(),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  cors: z.string().default('')
    .transform((text) => text.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''))
    .refine((origins) => origins.every((o) => o === '*' || (URL.canParse(o) && new URL(o).origin === o)),
      'is a comma-separated list of origins (scheme://host[:port], no path or trailing slash), or *'),
  maxConnectionsPerClient: z.coerce.number().int().min(1).max(1_000_000).default(256),
  maxStreamsPerClient: z.coerce.number().int().min(1).max(1_000_000).default(64),
  autoCreate: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
}).refine((o) => o.headersTimeout <= o.requestTimeout, { path: ['headersTimeout'], message: 'must not be longer than --request-timeout' })
  .refine((o) => (o.tlsCert === undefined) === (o.tlsKey === undefined), { path: ['tlsCert'], message: '--tls-cert and --tls-key go together' });

/** The PEM files of --tls-cert and --tls-key, read once; a file that cannot be read fails start-up naming its flag. */
function readTls(cert: string | undefined, key: string | undefined): ServerOptions['tls'] {
  if (cert === undefined || key === undefined) return undefined;
  const read = (path: string, flag: 'tlsCert' | 'tlsKey'): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`${OPTION_SOURCES[flag].flag} (${OPTION_SOURCES[flag].env}): cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return Object.freeze({ cert: read(cert, 'tlsCert'), key: read(key, 'tlsKey') });
}

/**
 * Validates options once, at the edge, and freezes them. Messages name the flag (and its variable).
 *
 * @example resolveOptions({ port: '9090' }).port // 9090
 */
export function resolveOptions(raw: RawOptions): ServerOptions {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse(defined);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof typeof OPTION_SOURCES | undefined;
      const source = key && OPTION_SOURCES[key] ? `${OPTION_SOURCES[key].flag} (${OPTION_SOURCES[key].env})` : 'options';
      return `${source}: ${issue.message}`;
    }).join('\n'));
  }
  const db = parseDsn(parsed.data.db);
  if (typeof db === 'string') throw new ConfigError(`--db (ATOMMQ_DB): ${db}`);
  const { tlsCert, tlsKey, ...rest } = parsed.data;
  return Object.freeze({ ...rest, db, tls: readTls(tlsCert, tlsKey) });
}
