/**
 * What every client command shares: flag parsing, where the feed is, the client, output and exit codes.
 * Commands read `process.env` through here only; the library never does.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AtomMQClient } from '../client/client.js';
import type { AtomMQClientOptions } from '../client/transport-options.js';
import { isFeedName, NAME_RULE } from '../names.js';
import { UsageError } from './exit.js';

export { EXIT, UsageError } from './exit.js';

/** Flags every client command takes. */
export const COMMON_FLAGS = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  token: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Common options:
  --server URL      the server, when <feed> is a name (ATOMMQ_URL; default http://localhost:8080)
  --json            machine-readable output on stdout
  --timeout S       seconds per attempt of a request (default 10)
  --retries N       retries of a request after a 5xx or a network error (default 5; never after a 4xx)
  --token T         sent as Authorization: Bearer T (ATOMMQ_TOKEN)
  -q, --quiet       no progress on stderr
  -h, --help        this help
`;

export interface CommonValues {
  server?: string | undefined;
  json?: boolean | undefined;
  timeout?: string | undefined;
  retries?: string | undefined;
  token?: string | undefined;
  quiet?: boolean | undefined;
  help?: boolean | undefined;
}

/** node:util parseArgs, strict, with its errors turned into usage errors. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O): {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string };
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as never, positionals };
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message);
    throw error;
  }
}

/** A whole number flag, with the flag named when it is not one. */
export function intFlag(value: string | undefined, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}

/** A number of seconds. */
export function secondsFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number of seconds, not "${value}"`);
  return n;
}

export interface Target {
  /** The server's base URL. */
  readonly server: string;
  readonly feed: string;
}

/** The server to talk to: `--server`, else ATOMMQ_URL, else http://localhost:8080. */
export function serverUrl(values: CommonValues): string {
  const server = values.server ?? process.env.ATOMMQ_URL ?? 'http://localhost:8080';
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server "${server}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server "${server}" is not an http(s) URL`);
  return url.href.replace(/\/+$/, '');
}

/**
 * `<feed>` is a full feed URL (`http://host:8080/feeds/orders`, a path prefix before `/feeds/` is
 * kept as part of the server's URL) or a feed name on `--server`.
 */
export function resolveTarget(feed: string | undefined, values: CommonValues): Target {
  if (feed === undefined || feed === '') throw new UsageError('missing <feed>: a feed URL, or a feed name with --server');
  if (/^https?:\/\//i.test(feed)) {
    const url = new URL(feed);
    const match = /^(.*)\/feeds\/([^/]+)\/?$/.exec(url.pathname);
    if (!match) throw new UsageError(`"${feed}" is not a feed URL (expected http://host/feeds/<name>)`);
    if (values.server !== undefined) throw new UsageError('give either a feed URL or --server with a feed name, not both');
    // The origin, with the user and password the URL may carry (sent as Basic credentials).
    const userinfo = url.username || url.password ? `${url.username}:${url.password}@` : '';
    return { server: `${url.protocol}//${userinfo}${url.host}${match[1] ?? ''}`, feed: decodeURIComponent(match[2] ?? '') };
  }
  if (!isFeedName(feed)) throw new UsageError(`"${feed}" is neither a feed URL nor a feed name (${NAME_RULE})`);
  return { server: serverUrl(values), feed };
}

/** The client a command uses, with the command's timeout and token. */
export function makeClient(server: string, values: CommonValues, extra: AtomMQClientOptions = {}): AtomMQClient {
  const timeout = secondsFlag(values.timeout, '--timeout');
  const retries = intFlag(values.retries, '--retries', 0, 1000);
  const token = values.token ?? process.env.ATOMMQ_TOKEN;
  return new AtomMQClient(server, {
    ...(timeout !== undefined ? { timeout: Math.max(1, Math.round(timeout * 1000)) } : {}),
    ...(retries !== undefined ? { retry: { retries } } : {}),
    ...(token ? { token } : {}),
    ...extra,
  });
}

/** Progress and diagnostics: stderr, unless --quiet. */
export function progress(values: CommonValues, message: string): void {
  if (!values.quiet) process.stderr.write(`atommq: ${message}\n`);
}

/** Writes to stdout and waits until it is flushed (so an exit right after loses nothing). */
export function out(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** A human rendering of seconds for progress lines. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
