#!/usr/bin/env node
/**
 * The `atommq` command: `serve` runs the server; `publish`, `read`, `tail`, `work`, `groups` and
 * `feeds` are clients (src/cli/<command>.ts). Each command's modules are loaded only when it runs, so
 * a worker started by `atommq tail` does not load the server, its database driver or its logger.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeError, EXIT, exitCodeOf, UsageError } from './cli/exit.js';
import { ConfigError } from './errors/index.js';

const SERVE_USAGE = `Usage: atommq serve [options]

Options (each also read from its environment variable):
  --port N              port to listen on (PORT; default 8080)
  --host H              interface to listen on (HOST; default all)
  --feeds DIR           one <name>.json per feed (ATOMMQ_FEEDS; default ./feeds)
  --db DSN              sqlite:PATH (ATOMMQ_DB; default sqlite:./data/atommq.db)
  --durability MODE     fsync | lose-on-power-failure (ATOMMQ_DURABILITY; default fsync)
  --body-limit BYTES    largest request body (ATOMMQ_BODY_LIMIT; default 1048576)
  --base-url URL        public URL when behind a proxy (ATOMMQ_BASE_URL)
  --headers-timeout S   seconds to send a request's headers (ATOMMQ_HEADERS_TIMEOUT; default 10)
  --request-timeout S   seconds to send a whole request (ATOMMQ_REQUEST_TIMEOUT; default 30)
  --log-level LEVEL     debug | info | warn | error | silent (ATOMMQ_LOG_LEVEL; default info)
  --access-log on|off|FILE  one line per request: in the log (on, the default), nowhere (off), or
                        as JSON lines appended to FILE, whatever the log level (ATOMMQ_ACCESS_LOG)
  --prune-interval S    seconds between retention sweeps (ATOMMQ_PRUNE_INTERVAL; default 10)
  --heartbeat S         seconds between keep-alives on live streams (ATOMMQ_HEARTBEAT; default 15)
  --stream-buffer N     messages a live stream may hold for a slow reader (ATOMMQ_STREAM_BUFFER; default 1024)
  --stream-buffer-bytes N  the same in bytes (ATOMMQ_STREAM_BUFFER_BYTES; default 8388608)
  --page-bytes N        largest page of a GET or a stream's backlog (ATOMMQ_PAGE_BYTES; default 4194304)
  --access FILE         principals and grants; without it the server is open (ATOMMQ_ACCESS)
  --tls-cert FILE       PEM certificate chain: serve HTTPS and WSS (ATOMMQ_TLS_CERT; with --tls-key)
  --tls-key FILE        PEM private key of --tls-cert (ATOMMQ_TLS_KEY)
  --cors ORIGINS        comma-separated origins whose pages may call and stream, or * (ATOMMQ_CORS)
  --max-connections-per-client N  beyond it a client's requests get 429 (ATOMMQ_MAX_CONNECTIONS_PER_CLIENT; default 256)
  --max-streams-per-client N      live streams per client address (ATOMMQ_MAX_STREAMS_PER_CLIENT; default 64)
  --auto-create BOOL    true: RestMQ routes create unknown queues on first use; false: 404 (ATOMMQ_AUTO_CREATE; default true)
`;

const USAGE = `Usage: atommq <command> [options]

Commands:
  serve                       run the server (the default command)
  publish <feed>              publish one entry
  read <feed>                 print one page of entries after a cursor
  tail <feed>                 print entries, or run a command for each, saving a cursor (a worker)
  work <feed> --group G       run a command for each message of a consumer group (competing workers)
  groups <feed> [group]       print the status of the feed's consumer groups
  feeds                       list the server's feeds
  passwd                      print the scrypt hash of a password read from stdin (for --access)
  token                       print a new Bearer token and its hash (for --access)

<feed> is a feed URL (http://host:8080/feeds/orders), or a feed name with --server URL
(default: ATOMMQ_URL, else http://localhost:8080). Credentials: --token (ATOMMQ_TOKEN), or a
Basic user in the URL (http://user:password@host:8080). \`atommq <command> --help\` tells more.

Exit codes: 0 ok; 1 unexpected failure; 2 bad usage or configuration; 3 server unreachable;
4 request refused (4xx); 5 server error (5xx); 6 the --exec command kept failing; 7 entries
were lost before they were read (a retention gap, or a cursor ahead of the server's database).
`;

async function serve(args: string[]): Promise<void> {
  const [{ createLogger }, { OPTION_SOURCES, resolveOptions }, { startServer }] = await Promise.all([
    import('./logging.js'), import('./config/server-options.js'), import('./runtime/runtime.js'),
  ]);
  type RawOptions = import('./config/server-options.js').RawOptions;
  const flags = Object.fromEntries(Object.values(OPTION_SOURCES).map((s) => [s.flag.slice(2), { type: 'string' as const }]));
  const { values } = parseArgs({ args, options: { ...flags, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return;
  }
  const raw: RawOptions = {};
  for (const [key, source] of Object.entries(OPTION_SOURCES) as Array<[keyof typeof OPTION_SOURCES, { flag: string; env: string }]>) {
    raw[key] = (values as Record<string, string | undefined>)[source.flag.slice(2)] ?? process.env[source.env];
  }
  const options = resolveOptions(raw);
  const logger = createLogger(options.logLevel);
  const server = await startServer(options, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A second signal (Ctrl-C pressed again, a supervisor that repeats itself) must not cut the
    // graceful shutdown short: with no listener left, Node would die of it at once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${signal} received: shutting down gracefully`);
    server.close().then(() => process.exit(EXIT.ok), (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(EXIT.failure);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Client commands, each in its own module. */
const COMMANDS: Record<string, () => Promise<(args: string[]) => Promise<void>>> = {
  publish: async () => (await import('./cli/publish.js')).publish,
  read: async () => (await import('./cli/read.js')).read,
  tail: async () => (await import('./cli/tail.js')).tail,
  feeds: async () => (await import('./cli/feeds.js')).feeds,
  work: async () => (await import('./cli/work.js')).work,
  groups: async () => (await import('./cli/groups.js')).groups,
  passwd: async () => (await import('./cli/secrets.js')).passwd,
  token: async () => (await import('./cli/secrets.js')).token,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    if (topic) return (await topic())(['--help']);
    process.stdout.write(rest[0] === 'serve' ? SERVE_USAGE : USAGE);
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  // `atommq --port 9090` is `atommq serve --port 9090`, as before there were other commands.
  if (command.startsWith('--')) return serve(argv);
  const load = COMMANDS[command];
  if (!load) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  await (await load())(rest);
  // A client command is done once its output is written (each awaits its writes): exit now rather
  // than when the HTTP client's last sockets and timers have wound down.
  process.exit(EXIT.ok);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`atommq: ${(error as Error).message}\n`);
    process.exit(EXIT.usage);
  }
  process.stderr.write(`atommq: ${describeError(error)}\n`);
  if (error instanceof UsageError && !error.message.includes('Usage:')) process.stderr.write('(atommq <command> --help tells more)\n');
  // Commands await their stdout writes, so exiting now loses no output, and nothing a failed
  // start-up left open (a file watcher, a database) can keep the process alive.
  process.exit(exitCodeOf(error));
});
