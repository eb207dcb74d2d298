/**
 * The server's logger. A person running `npm start` in a terminal reads its lines; a supervisor
 * (systemd's journal, a container runtime, a log shipper) parses them. So: pino-pretty when stdout
 * is a terminal, JSON lines otherwise, and ISO 8601 times in both.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { ServerOptions } from './config/server-options.js';

/**
 * @param tty whether the output is a terminal; defaults to stdout's.
 * @example const logger = createLogger('info'); logger.info({ feed: 'orders' }, 'feed mounted');
 */
export function createLogger(level: ServerOptions['logLevel'], tty = process.stdout.isTTY === true): Logger {
  const options = { level, timestamp: pino.stdTimeFunctions.isoTime };
  if (!tty) return pino(options);
  // Synchronous, as pino's own stdout is: the last lines before process.exit() are never lost.
  // The time is already ISO, so pino-pretty prints it as it is. The fields that the start-up and
  // access lines' messages already say are left out of what a person reads.
  return pino(options, pretty({
    sync: true, colorize: true, singleLine: true, translateTime: false,
    ignore: 'pid,hostname,urls,feeds,method,path,status,ms,aborted',
  }));
}

/** Where access lines go (`--access-log`): a logger, or none; `close()` flushes a file's last lines. */
export interface AccessLogger {
  readonly logger: Logger | undefined;
  close(): void;
}

/**
 * @param setting `on` (the server's logger), `off`, or a file path (JSON lines, appended, at info
 *   whatever the server's log level).
 * @example createAccessLogger('/var/log/atommq/access.log', logger).logger?.info({ reqId: 'r1' }, 'GET /healthz 200')
 */
export function createAccessLogger(setting: string, logger: Logger): AccessLogger {
  if (setting === 'on') return { logger, close: () => {} };
  if (setting === 'off') return { logger: undefined, close: () => {} };
  const file = pino.destination({ dest: setting, append: true, mkdir: true, sync: false });
  return {
    logger: pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, file),
    close: () => file.flushSync(),
  };
}
