import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, sep } from 'node:path';
import { z } from 'zod';
import type { FeedHead } from '../atom/feed-head.js';
import { personSchema, toPerson } from '../atom/person.js';
import { describeIssue } from '../errors/describe-issue.js';
import { ConfigError } from '../errors/index.js';
import { isFeedName, MAX_LIMIT, NAME_RULE } from '../names.js';
import { GROUP_LIMITS, type GroupSettings } from '../store/groups.js';
import type { Retention } from '../store/store.js';
import { parseDsn, type Dsn } from './dsn.js';
import { describeJsonError } from './json-error.js';

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
    /** Never remove what a consumer group of the feed has not acked. @defaultValue true */
    keepUnacked: z.boolean().default(true),
    /** Tombstones (deletions) go after this many seconds. @defaultValue 604800 (7 days) */
    tombstoneSeconds: z.number().int().min(1).default(7 * 24 * 3600),
  }).prefault({}),
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
  /**
   * Consumer groups declared when the feed mounts or its file changes, by name: `lease` (seconds),
   * `maxDeliveries`, `start`. A group not named here is created by its first claim, with defaults.
   */
  groups: z.record(
    z.string().refine(isFeedName, `a group name is ${NAME_RULE}`),
    z.strictObject({
      lease: z.number().int().min(1).max(GROUP_LIMITS.seconds).optional(),
      maxDeliveries: z.number().int().min(1).max(GROUP_LIMITS.maxDeliveries).optional(),
      start: z.enum(['earliest', 'latest']).optional(),
    }),
  ).default({}),
});

/** A feed's settings; the part its Atom head shows is FeedHead, which the renderers take. */
export interface FeedConfig extends FeedHead {
  readonly pageSize: number;
  readonly maxWait: number;
  readonly retention: Retention;
  readonly immutable: boolean;
  readonly delivery: 'broadcast' | 'roundrobin';
  readonly db?: Dsn | undefined;
  /** Declared consumer groups and their settings (what the file gives; the rest are defaults). */
  readonly groups: Readonly<Record<string, Partial<GroupSettings>>>;
}

/** Feed files hold a few hundred bytes; a larger file is not one, and is not read whole. */
const MAX_FEED_FILE = 64 * 1024;

/**
 * The text of a feed file, read so that the file cannot make the server read something else: a link
 * may point only inside its own directory (`pw.json -> /etc/passwd` is refused, naming the link),
 * and a FIFO, device or huge file is refused without blocking on it or loading it.
 */
function readFeedText(path: string): string {
  let fd: number | undefined;
  try {
    const real = realpathSync(path);
    if (!real.startsWith(realpathSync(dirname(path)) + sep)) {
      throw new ConfigError(`${path}: is a link to a file outside the feeds directory; copy the file in instead`);
    }
    // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: a link swapped in since realpath is refused.
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`${path}: is not a regular file`);
    if (stat.size > MAX_FEED_FILE) throw new ConfigError(`${path}: is ${stat.size} bytes, more than a feed file's ${MAX_FEED_FILE}`);
    return readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The file's group declarations in the store's terms (`lease` is `leaseSeconds` there). */
function groupSettings(groups: z.infer<typeof feedFile>['groups']): FeedConfig['groups'] {
  return Object.freeze(Object.fromEntries(Object.entries(groups).map(([name, g]) => [name, Object.freeze({
    ...(g.lease === undefined ? {} : { leaseSeconds: g.lease }),
    ...(g.maxDeliveries === undefined ? {} : { maxDeliveries: g.maxDeliveries }),
    ...(g.start === undefined ? {} : { start: g.start }),
  })])));
}

/**
 * Reads and validates one feed file. Throws a ConfigError naming the file and the field, and never
 * quoting the file's text.
 *
 * @example loadFeedFile('feeds/orders.json').pageSize // 100
 */
export function loadFeedFile(path: string): FeedConfig {
  const name = basename(path, '.json');
  if (!isFeedName(name)) {
    throw new ConfigError(`${path}: "${name}" is not a valid feed name (${NAME_RULE})`);
  }
  const text = readFeedText(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path}: ${describeJsonError(text)}`);
  }
  const parsed = feedFile.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${path}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  return toConfig(name, parsed.data, path);
}

/**
 * A feed with every default, as `{}` in a feed file gives: what a queue created on first use is
 * served with (DESIGN.md section 12).
 */
export function defaultFeedConfig(name: string): FeedConfig {
  return toConfig(name, feedFile.parse({}), name);
}

/** The validated fields of a feed file as the server uses them; `path` names the file in errors. */
function toConfig(name: string, f: z.infer<typeof feedFile>, path: string): FeedConfig {
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
    retention: f.retention, immutable: f.immutable, delivery: f.delivery, db, groups: groupSettings(f.groups),
  });
}
