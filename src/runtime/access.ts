import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AccessControl } from '../access/access-control.js';
import type { ServerOptions } from '../config/server-options.js';

/** The access file's rules, followed while the server runs (each reload or broken edit logged); undefined for an open server. */
export function startAccess(options: ServerOptions, logger: Logger): AccessControl | undefined {
  if (options.access === undefined) return undefined;
  const access = new AccessControl(options.access);
  warnOfScryptTokens(access, logger);
  access.watch((event) => {
    if (event.type === 'invalid') logger.error(event.error.message);
    else {
      logger.info({ access: options.access }, 'access file reloaded');
      warnOfScryptTokens(access, logger);
    }
  });
  return access;
}

/** Tokens under scrypt hashes (as earlier versions wrote them) make every unknown token cost the server a scrypt each. */
function warnOfScryptTokens(access: AccessControl, logger: Logger): void {
  const principals = access.principals.filter((p) => p.tokenHashes.length > 0).map((p) => p.name);
  if (principals.length === 0) return;
  logger.warn({ access: access.path, principals },
    'tokens hashed with scrypt: each request with an unknown token costs one scrypt (~50 ms) per such hash; re-issue them with `atommq token`, whose digests are looked up');
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
