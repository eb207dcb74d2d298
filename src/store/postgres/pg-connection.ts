/**
 * Connections to PostgreSQL: how every AtomMQ connection is configured, and which failures mean
 * "the database cannot be reached" (503, retry) rather than a bug (500).
 */
import pg from 'pg';
import { AtomMQError } from '../../errors/index.js';

import type { StoreLog } from '../store.js';

export type { StoreLog };

const INT8 = 20;

/**
 * bigint columns (seqs, epoch ms) as numbers: every value AtomMQ stores stays below 2^53, and the
 * driver's default (strings) would leak into every comparison.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pool on the DSN. `connectionTimeoutMillis` bounds how long a request waits for a connection
 * when the server does not answer at all (a dead host), so it fails with 503 rather than hangs;
 * a server that is down or restarting refuses at once anyway. Keep-alive finds connections that
 * died without a word.
 */
export function createPool(url: string, max: number, log: StoreLog): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, keepAlive: true, connectionTimeoutMillis: 5000, application_name: 'atommq' });
  // An idle connection that the server closes (a restart) is dropped by the pool, which reports it
  // here; without a listener that report would crash the process.
  pool.on('error', (error) => log('warn', `an idle PostgreSQL connection was closed: ${error.message}`));
  return pool;
}

/**
 * The pool that writes: every commit on it is flushed to the WAL (and to synchronous standbys, if
 * any) before it returns, whatever the database's default for synchronous_commit, and only then
 * is a write answered. PostgreSQL ends a session that stays 10 s in a transaction without sending
 * anything (its server frozen or cut off while holding the log's lock), so the other servers go
 * on; a batch sends its statements back to back.
 */
export function createWriterPool(url: string, log: StoreLog): pg.Pool {
  const pool = createPool(url, 1, log);
  pool.on('connect', (client) => {
    client.query('SET synchronous_commit = on; SET idle_in_transaction_session_timeout = 10000').catch(() => {});
  });
  return pool;
}

export function createClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types, keepAlive: true, connectionTimeoutMillis: 5000, application_name: 'atommq' });
}

/** Node's socket errors that mean the server is not there (or went away). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT']);

/**
 * SQLSTATEs of a server that is going away or not ready: connection exceptions (class 08),
 * administrator or crash shutdown, starting up, too many connections.
 */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300)$/;

/** The driver's own words when a connection ends under a query, or none is free in time. */
const DRIVER_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed/;

export function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || UNAVAILABLE_STATES.test(code))) return true;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}

/**
 * STORE_UNAVAILABLE for a failure to reach the database, anything else as it is (a bug: 500).
 * Clients retry a 503; a POST retried with its Idempotency-Key or atom:id is stored once, whether
 * or not the first attempt's commit had reached the database.
 */
export function storeError(error: unknown): unknown {
  if (error instanceof AtomMQError || !isUnavailable(error)) return error;
  return new AtomMQError('STORE_UNAVAILABLE', `the database cannot be reached (${(error as Error).message}); retry shortly`,
    { cause: error, headers: { 'Retry-After': '1' } });
}

/**
 * Runs `work` on a connection of the pool. While checked out a connection has no listener of the
 * pool's, and one that dies between two queries would report it to nobody (which ends the
 * process): it is listened to here, and a connection that failed (or that `work` discards) is
 * closed rather than pooled.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient, discard: (why: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const died = (error: Error): void => {
    broken ??= error;
  };
  client.on('error', died);
  try {
    return await work(client, died);
  } catch (error) {
    if (isUnavailable(error)) broken ??= error as Error;
    throw error;
  } finally {
    client.off('error', died);
    client.release(broken);
  }
}

/** Runs a read, turning a lost connection into STORE_UNAVAILABLE. */
export async function guarded<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw storeError(error);
  }
}

/** A query with a name, so each connection parses and plans it once (a prepared statement). */
export function statement(name: string, text: string): (values: unknown[]) => pg.QueryConfig {
  return (values) => ({ name, text, values });
}
