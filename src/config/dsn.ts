import { resolve } from 'node:path';

/**
 * Where a store lives, by kind; each kind has its opener in src/store/store-factory.ts. SQLite is
 * the embedded default; PostgreSQL (DESIGN.md section 13) is added beside it.
 */
export type Dsn = { readonly kind: 'sqlite'; readonly path: string };

interface Scheme {
  /** How the DSN is written, for messages. */
  readonly usage: string;
  /** What follows `scheme:`, read; undefined when it is not a DSN of this kind. */
  parse(rest: string): Dsn | undefined;
}

/** The schemes a DSN may have. */
const SCHEMES = new Map<string, Scheme>([
  ['sqlite', {
    usage: 'sqlite:PATH',
    // Relative paths resolve against the working directory.
    parse: (rest) => (rest === '' ? undefined : { kind: 'sqlite', path: rest === ':memory:' ? ':memory:' : resolve(rest) }),
  }],
]);

/**
 * Parses a DSN by its scheme: `sqlite:PATH` or `sqlite::memory:`. Returns an error message rather
 * than throwing, so callers can name the flag or the feed file it came from.
 *
 * @example parseDsn('sqlite:./data/atommq.db') // { kind: 'sqlite', path: '/…/data/atommq.db' }
 */
export function parseDsn(text: string): Dsn | string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1];
  const known = scheme === undefined ? undefined : SCHEMES.get(scheme);
  if (!known) {
    const usage = [...SCHEMES.values()].map((s) => s.usage).join(' or ');
    return `"${text}" is not a supported database${scheme === undefined ? '' : ` (no store reads "${scheme}:")`}; use ${usage}`;
  }
  return known.parse(text.slice((scheme as string).length + 1)) ?? `"${text}" is not a valid database location; use ${known.usage}`;
}
