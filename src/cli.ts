#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { OPTION_SOURCES, resolveOptions, type RawOptions } from './config/server-options.js';
import { ConfigError } from './errors/index.js';
import { startServer } from './server.js';

const USAGE = `Usage: atommq serve [options]

Options (each also read from its environment variable):
  --port N              port to listen on (PORT; default 8080)
  --host H              interface to listen on (HOST; default all)
  --feeds DIR           one <name>.json per feed (ATOMMQ_FEEDS; default ./feeds)
  --db DSN              sqlite:PATH (ATOMMQ_DB; default sqlite:./data/atommq.db)
  --durability MODE     fsync | lose-on-power-failure (ATOMMQ_DURABILITY; default fsync)
  --body-limit BYTES    largest request body (ATOMMQ_BODY_LIMIT; default 1048576)
  --base-url URL        public URL when behind a proxy (ATOMMQ_BASE_URL)
  --log-level LEVEL     debug | info | warn | error | silent (ATOMMQ_LOG_LEVEL; default info)
  --prune-interval S    seconds between retention sweeps (ATOMMQ_PRUNE_INTERVAL; default 10)
`;

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

async function serve(args: string[]): Promise<void> {
  const flags = Object.fromEntries(Object.values(OPTION_SOURCES).map((s) => [s.flag.slice(2), { type: 'string' as const }]));
  const { values } = parseArgs({ args, options: { ...flags, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const raw: RawOptions = {};
  for (const [key, source] of Object.entries(OPTION_SOURCES) as Array<[keyof typeof OPTION_SOURCES, { flag: string; env: string }]>) {
    raw[key] = (values as Record<string, string | undefined>)[source.flag.slice(2)] ?? process.env[source.env];
  }
  const options = resolveOptions(raw);
  const logger = pino({ level: options.logLevel });
  const server = await startServer(options, logger);
  const stop = (signal: string): void => {
    logger.info({ signal }, 'signal received');
    server.close().then(() => process.exit(EXIT.ok), (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(EXIT.failure);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command.startsWith('--')) return serve(argv);
  process.stderr.write(`atommq: unknown command "${command}"\n\n${USAGE}`);
  process.exitCode = EXIT.usage;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`atommq: ${(error as Error).message}\n`);
    process.exit(EXIT.usage);
  }
  process.stderr.write(`atommq: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT.failure);
});
