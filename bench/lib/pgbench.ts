/**
 * pgbench's own rate of single-row INSERTs (each its own committed transaction) on a database: the
 * floor of what a durable write costs on that engine, beside which AtomMQ's POST rate reads.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/** pgbench from PATH, or from the PostgreSQL packages' bin directory. */
export function findPgbench(): string | undefined {
  const root = '/usr/lib/postgresql';
  const installed = existsSync(root) ? readdirSync(root).sort().reverse().map((v) => join(root, v, 'bin', 'pgbench')).find(existsSync) : undefined;
  return installed ?? (process.env.PATH ?? '').split(':').map((dir) => join(dir, 'pgbench')).find(existsSync);
}

/**
 * INSERTs per second of a row the size of a benchmark entry into a table of `schema`, by `clients`
 * connections for `seconds`.
 */
export async function pgbenchInserts(pgbench: string, url: string, schema: string, workDir: string, clients: number, seconds: number): Promise<number> {
  const table = `${schema}.pgbench_inserts`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, body text NOT NULL)`);
  } finally {
    await admin.end();
  }
  const script = join(workDir, 'pgbench-insert.sql');
  writeFileSync(script, `INSERT INTO ${table} (body) VALUES ('${'x'.repeat(300)}');\n`);
  const { stdout } = await promisify(execFile)(pgbench, ['-n', '-f', script, '-c', String(clients), '-j', String(Math.min(clients, 2)),
    '-T', String(seconds), url]);
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  if (tps === undefined) throw new Error(`pgbench printed no tps: ${stdout}`);
  return Number(tps);
}
