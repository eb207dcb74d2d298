import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AccessControl } from '../access/access-control.js';
import type { ServerOptions } from '../config/server-options.js';

/** The access file's rules, followed while the server runs (each reload or broken edit logged); undefined for an open server. */
export function startAccess(options: ServerOptions, logger: Logger): AccessControl | undefined {
  if (options.access === undefined) return undefined;
  const access = new AccessControl(options.access);
  access.watch((event) => {
    if (event.type === 'invalid') logger.error(event.error.message);
    else logger.info({ access: options.access }, 'access file reloaded');
  });
  return access;
}

/** Whether anyone beyond this machine can connect to `address`. */
function beyondLoopback(address: AddressInfo): boolean {
  const host = address.address.replace(/^::ffff:/, '');
  return !(host === '::1' || host.startsWith('127.'));
}

/** An open server a network can reach says so, once, at start-up: anyone there may read, publish, delete and purge. */
export function warnIfOpen(access: AccessControl | undefined, address: AddressInfo, logger: Logger): void {
  if (access || !beyondLoopback(address)) return;
  logger.warn({ address: address.address },
    'no access file (--access): anyone who can reach this server may read, publish, delete and purge every feed');
}
