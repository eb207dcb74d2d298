import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { personSchema, toPerson, type Person } from '../atom/person.js';
import { describeIssue } from '../errors/describe-issue.js';
import { ConfigError } from '../errors/index.js';
import { isFeedName, MAX_LIMIT, NAME_RULE } from '../names.js';
import { parseDsn, type Dsn } from './dsn.js';

/** The fields of `feeds/<name>.json`. Every field is optional: `{}` is a feed with defaults. */
const feedFile = z.strictObject({
  /** @defaultValue the feed's name */
  title: z.string().min(1).optional(),
  subtitle: z.string().optional(),
  /** The feed's atom:author, and the author of entries that name none. @defaultValue the title */
  author: personSchema.optional(),
  /** Entries per page. @defaultValue 100 */
  pageSize: z.number().int().min(1).max(MAX_LIMIT).default(100),
  /** Longest a long-poll may hold, in seconds. @defaultValue 30 */
  maxWait: z.number().min(0).max(3600).default(30),
  retention: z.strictObject({
    maxEntries: z.number().int().min(1).optional(),
    maxAgeSeconds: z.number().int().min(1).optional(),
  }).optional(),
  /** Refuse PUT and DELETE: a pure log. @defaultValue false */
  immutable: z.boolean().default(false),
  /**
   * How live streams (server-sent events, WebSocket, comet) share the feed's messages: `broadcast`,
   * every consumer gets every message; `roundrobin`, each message goes to exactly one consumer, in
   * turn. Plain GETs and long-polls are not affected. @defaultValue broadcast
   */
  delivery: z.enum(['broadcast', 'roundrobin']).default('broadcast'),
  /** A database of its own for this feed. @defaultValue the server's --db */
  db: z.string().min(1).optional(),
});

export interface FeedConfig {
  readonly name: string;
  readonly title: string;
  readonly subtitle?: string | undefined;
  readonly author: Person;
  readonly pageSize: number;
  readonly maxWait: number;
  readonly retention?: { readonly maxEntries?: number | undefined; readonly maxAgeSeconds?: number | undefined } | undefined;
  readonly immutable: boolean;
  readonly delivery: 'broadcast' | 'roundrobin';
  readonly db?: Dsn | undefined;
}

/**
 * Reads and validates one feed file. Throws a ConfigError naming the file and the field.
 *
 * @example loadFeedFile('feeds/orders.json').pageSize // 100
 */
export function loadFeedFile(path: string): FeedConfig {
  const name = basename(path, '.json');
  if (!isFeedName(name)) {
    throw new ConfigError(`${path}: "${name}" is not a valid feed name (${NAME_RULE})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
  const parsed = feedFile.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${path}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  const f = parsed.data;
  const title = f.title ?? name;
  const author = f.author === undefined ? { name: title } : toPerson(f.author);
  let db: Dsn | undefined;
  if (f.db !== undefined) {
    const dsn = parseDsn(f.db);
    if (typeof dsn === 'string') throw new ConfigError(`${path}: field "db": ${dsn}`);
    db = dsn;
  }
  return Object.freeze({
    name, title, subtitle: f.subtitle, author, pageSize: f.pageSize, maxWait: f.maxWait,
    retention: f.retention, immutable: f.immutable, delivery: f.delivery, db,
  });
}
