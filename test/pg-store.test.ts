/**
 * What only the PostgreSQL store has: its migrations under several servers, its query plans, how
 * servers on one database hear of each other's commits, and what a request gets when the database
 * cannot be reached. The Store interface itself is test/store.test.ts, run on both stores.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { AtomMQError, ConfigError } from '../src/errors/index.js';
import { PgStore } from '../src/store/postgres/pg-store.js';
import type { Revision, Store, StoredEntry } from '../src/store/store.js';
import { eachStore, freshSchema, PG_URL, pgQuery, type TestSchema } from './support/postgres.js';
import { entryXml, freePort, postAtom, startTestServer } from './support/server.js';

function revision(text: string): Revision {
  const edited = new Date().toISOString();
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}</entry>`, json: `"t":"${text}"` };
}

eachStore('PostgreSQL store', () => {
  let schema: TestSchema;
  const stores: Store[] = [];
  const open = (): PgStore => {
    const store = new PgStore({ url: schema.url });
    stores.push(store);
    return store;
  };
  before(async () => {
    schema = await freshSchema();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await schema.drop();
  });

  test('servers starting together on an empty database all come up, and the schema is made once', async () => {
    await Promise.all([open(), open(), open()].map((s) => s.ping()));
    const versions = await pgQuery<{ version: number }>(`SELECT version FROM ${schema.name}.atommq_schema ORDER BY version`);
    assert.deepEqual(versions.map((v) => v.version), [1, 2], 'each version applied once');
  });

  test('a start on a database already migrated takes no lock and changes nothing', async () => {
    const before = await pgQuery<{ applied_at: Date }>(`SELECT applied_at FROM ${schema.name}.atommq_schema`);
    // Holding the migration lock: a start that wanted it would wait here until the test times out.
    const holder = new pg.Client({ connectionString: schema.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtextextended('atommq.migrate:' || current_schema(), 0))");
      await open().ping();
    } finally {
      await holder.end();
    }
    assert.deepEqual(await pgQuery(`SELECT applied_at FROM ${schema.name}.atommq_schema`), before);
  });

  test('a database at schema version 1 gains retention\'s watermark and the queue records on opening', async () => {
    const old = await freshSchema();
    try {
      const first = new PgStore({ url: old.url });
      await first.append({ feed: 'f', candidates: [{ key: 'k', revision: revision('k') }] });
      await first.close();
      // Back to version 1, as a server of that version left the database.
      await pgQuery(`DROP TABLE ${old.name}.atommq_pruned, ${old.name}.atommq_queues; DELETE FROM ${old.name}.atommq_schema WHERE version = 2`);
      const store = new PgStore({ url: old.url });
      try {
        assert.equal(await store.prune('f', { maxEntries: 0 }, Date.now()), 1);
        assert.equal((await store.bounds('f')).pruned, 1);
        assert.equal((await store.queues.update({ name: 'q', stopped: true })).stopped, true);
      } finally {
        await store.close();
      }
    } finally {
      await old.drop();
    }
  });

  test('a cursor read walks the feed index, whatever the table size', async () => {
    const plan = await pgQuery<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT seq FROM ${schema.name}.atommq_entries e WHERE e.feed = 'f' AND e.seq > 0 ORDER BY e.seq LIMIT 11`);
    assert.match(plan.map((p) => p['QUERY PLAN']).join('\n'), /Index (Only )?Scan using atommq_entries_by_feed/);
  });

  test('each store hands its listeners every commit on the database once, in seq order, its own and the others\'', { timeout: 60_000 }, async () => {
    const [a, b] = [open(), open()];
    const heard = new Map<Store, StoredEntry[]>([[a, []], [b, []]]);
    for (const [store, list] of heard) store.onCommit((changes) => list.push(...changes));
    await Promise.all([a.ping(), b.ping()]);
    // Four writers on each store, all at once, each replacing an entry now and then.
    const replaced = new Set<number>();
    const writer = async (store: Store, w: number): Promise<number[]> => {
      const seqs: number[] = [];
      for (let i = 0; i < 60; i++) {
        const key = `w${w}-${i}`;
        const { entry } = await store.append({ feed: `f${w % 3}`, candidates: [{ key, revision: revision(key) }] });
        seqs.push(entry.seq);
        if (i % 10 === 9) {
          seqs.push((await store.replace({ feed: entry.feed, key, revision: revision(`${key}'`) })).seq);
          replaced.add(entry.seq);
        }
      }
      return seqs;
    };
    const written = (await Promise.all([0, 1, 2, 3].flatMap((w) => [writer(a, w), writer(b, w + 4)]))).flat().sort((x, y) => x - y);
    const current = written.filter((seq) => !replaced.has(seq));
    for (const [store, list] of heard) {
      while ((list.at(-1)?.seq ?? 0) < written.at(-1)!) await new Promise((r) => setTimeout(r, 20));
      const seqs = list.map((c) => c.seq);
      const name = store === a ? 'a' : 'b';
      assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), `${name} heard each commit once, in seq order`);
      // A revision replaced before a store read it back was gone by then, to every reader.
      assert.deepEqual(current.filter((seq) => !seqs.includes(seq)), [], `${name} heard every current change`);
      assert.deepEqual(seqs.filter((seq) => !written.includes(seq)), [], `${name} heard nothing else`);
    }
  });

  test('a POST retried at once on two servers, and twice in one batch, is stored once', { timeout: 30_000 }, async () => {
    const [a, b] = [open(), open()];
    for (let i = 0; i < 40; i++) {
      const request = { feed: 'retries', retry: { idempotencyKey: `k${i}`, fingerprint: 'same' }, candidates: [{ key: `e${i}`, revision: revision(`e${i}`) }] };
      // The same request on both stores at once, and twice on one of them: three attempts of one message.
      const results = await Promise.all([a.append(request), b.append(request), b.append({ ...request, candidates: [{ key: `f${i}`, revision: revision(`f${i}`) }] })]);
      assert.deepEqual(results.map((r) => r.created).sort(), [false, false, true], `attempt ${i}: one is stored, the others answer it`);
      assert.equal(new Set(results.map((r) => r.entry.seq)).size, 1, `attempt ${i}: all three answer the same entry`);
    }
    assert.equal((await a.readAfter('retries', 0, { limit: 100 })).changes.length, 40);
  });

  test('a database that cannot be reached: reads, writes and pings fail with STORE_UNAVAILABLE (503)', async () => {
    const url = new URL(PG_URL);
    url.port = String(await freePort());
    const store = new PgStore({ url: url.href });
    stores.push(store);
    for (const attempt of [store.ping(), store.readAfter('f', 0, { limit: 1 }), store.append({ feed: 'f', candidates: [{ key: 'k', revision: revision('k') }] })]) {
      await assert.rejects(attempt, (error: AtomMQError) => error.code === 'STORE_UNAVAILABLE' && error.status === 503);
    }
  });
  test('a feed file may name a PostgreSQL database of its own; the server\'s stays SQLite', async () => {
    const own = await freshSchema();
    const server = await startTestServer({ main: {}, audit: { db: own.url } });
    try {
      const res = await postAtom(server.feedUrl('audit'), entryXml('to PostgreSQL'));
      assert.equal(res.status, 201);
      assert.deepEqual(await pgQuery(`SELECT feed, seq::int AS seq FROM ${own.name}.atommq_entries`), [{ feed: 'audit', seq: Number(res.headers.get('xlastid')) }]);
      assert.equal((await postAtom(server.feedUrl('main'), entryXml('to SQLite'))).status, 201);
      assert.equal((await pgQuery(`SELECT count(*)::int AS n FROM ${own.name}.atommq_entries`))[0]?.n, 1);
    } finally {
      await server.close();
      await own.drop();
    }
  });
}, ['postgres']);

test('a server whose PostgreSQL does not answer does not start, and says which database', async () => {
  const url = new URL(PG_URL);
  url.port = String(await freePort());
  await assert.rejects(startTestServer({ test: {} }, { db: url.href }),
    (error: ConfigError) => error.code === 'CONFIG_INVALID' && /--db \(ATOMMQ_DB\): cannot open the database: the database cannot be reached/.test(error.message));
});

test('without a reachable PostgreSQL, the PostgreSQL suites are skipped locally and fail in CI, saying why', async () => {
  const file = fileURLToPath(new URL('./store.test.js', import.meta.url));
  const run = (ci: string): { status: number | null; out: string } => {
    // Without this runner's context, the child runs its file as a test run of its own.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], {
      env: { ...env, CI: ci, ATOMMQ_TEST_PG: 'postgres://postgres@127.0.0.1:1/none' }, encoding: 'utf8', timeout: 60_000,
    });
    return { status: result.status, out: result.stdout + result.stderr };
  };
  const local = run('');
  assert.equal(local.status, 0, local.out);
  assert.match(local.out, /store \[postgres\].*# PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none does not answer/);
  const ci = run('true');
  assert.notEqual(ci.status, 0, 'CI fails');
  assert.match(ci.out, /PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none does not answer .*CI runs every suite on PostgreSQL too/);
});
