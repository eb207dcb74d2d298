import { resolve } from 'node:path';

/** Where a store lives. SQLite is the embedded default; other kinds are added beside it. */
export type Dsn = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/**
 * Parses `sqlite:PATH` (relative paths resolve against the working directory) or `sqlite::memory:`.
 * Returns an error message rather than throwing, so callers can name the file or option it came from.
 */
export function parseDsn(text: string): Dsn | string {
  if (/^postgres(ql)?:\/\//.test(text)) return { kind: 'postgres', url: text };
  const match = /^sqlite:(.+)$/.exec(text);
  if (!match?.[1]) return `"${text}" is not a supported database; use sqlite:PATH`;
  const path = match[1] === ':memory:' ? ':memory:' : resolve(match[1]);
  return { kind: 'sqlite', path };
}
