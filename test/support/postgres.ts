/**
 * PostgreSQL for the tests: a fresh schema per store or server, dropped afterwards, in the database
 * ATOMMQ_TEST_PG names (default: the local server's `test` database). Suites that run on both
 * stores describe themselves once per kind with `eachStore`. Without a reachable PostgreSQL the
 * PostgreSQL half is skipped, saying why; in CI (CI=true) it fails instead, saying why.
 */
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';

export const PG_URL = process.env.ATOMMQ_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${PG_URL} does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why PostgreSQL tests cannot run here; undefined when they can. Asked once per process. */
export const pgUnavailable: string | undefined = await probe();

/** A libpq URI whose connections use `schema` (search_path in the startup options). */
export function schemaUrl(schema: string, base = PG_URL): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.href;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  readonly name: string;
  /** Connects to the schema. */
  readonly url: string;
  /** Drops the schema and everything in it; safe to call twice. */
  drop(): Promise<void>;
}

/** Creates an empty schema of a random name. */
export async function freshSchema(): Promise<TestSchema> {
  const name = `atommq_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE SCHEMA ${name}`));
  let dropped: Promise<unknown> | undefined;
  return {
    name,
    url: schemaUrl(name),
    drop: async () => {
      dropped ??= admin((client) => client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`));
      await dropped;
    },
  };
}

/** Runs a query on the test database as an administrator (to look at what a store left behind). */
export function pgQuery<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return admin(async (client) => (await client.query<R>(text, values)).rows);
}

/**
 * Describes `suite` once per store kind: `<title> [sqlite]`, `<title> [postgres]`. Where PostgreSQL
 * does not answer, its half is skipped with the reason, or fails with it in CI.
 */
export function eachStore(title: string, suite: (kind: StoreKind) => void, kinds: readonly StoreKind[] = STORE_KINDS): void {
  for (const kind of kinds) {
    const name = `${title} [${kind}]`;
    if (kind === 'postgres' && pgUnavailable) {
      if (process.env.CI === 'true') {
        describe(name, () => test('PostgreSQL answers', () => {
          throw new Error(`${pgUnavailable}: CI runs every suite on PostgreSQL too (.ci/run starts it)`);
        }));
      } else describe(name, { skip: `${pgUnavailable}; set ATOMMQ_TEST_PG to run these tests` }, () => {});
      continue;
    }
    describe(name, () => suite(kind));
  }
}
