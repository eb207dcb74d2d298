/**
 * Faults with several servers on one PostgreSQL (DESIGN.md section 13): one server SIGKILLed under
 * load, and PostgreSQL itself restarted under load. Publishers retry what a client should retry
 * (a lost connection, a 503) with the same Idempotency-Key: every acknowledged message is stored
 * once, none twice, and cursor readers on the surviving server see them all, once, in order.
 *
 * The restart test is the only one that restarts PostgreSQL, and keeps it short: it stops the
 * database every test on this machine uses.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Cluster, CursorReader, publishWithRetries, type Acknowledged } from './support/cluster.js';
import { eachStore, PG_URL } from './support/postgres.js';
import { entryXml, postAtom } from './support/server.js';
import { describeSeqs, eventually } from './support/streams.js';

const FEEDS = { bus: { maxWait: 20 } };

/** The stored rows of feed `bus`: idempotency key and seq. */
async function stored(cluster: Cluster): Promise<Array<{ idempotency_key: string; seq: number }>> {
  return cluster.rows("SELECT idempotency_key, seq::float8 AS seq FROM atommq_entries WHERE feed = 'bus' ORDER BY seq");
}

/** Every acknowledged message is stored once, under the seq its 201 named; nothing else is stored. */
async function assertStoredOnce(cluster: Cluster, acknowledged: readonly Acknowledged[]): Promise<number[]> {
  const rows = await stored(cluster);
  const byKey = new Map(rows.map((r) => [r.idempotency_key, r.seq]));
  assert.equal(byKey.size, rows.length, 'no idempotency key stored twice');
  assert.equal(rows.length, acknowledged.length, 'as many rows as acknowledged messages: nothing stored twice, nothing unacknowledged');
  for (const a of acknowledged) {
    assert.ok(byKey.has(a.key), `${a.key} was acknowledged (${a.status}) but is not stored`);
    if (a.status === 201) assert.equal(byKey.get(a.key), a.seq, `${a.key} is stored under the seq its 201 named`);
  }
  return rows.map((r) => r.seq);
}

/** Publishers p0..p3, two requests in flight each, that post to server p % 2 and retry on any server alive. */
function publishers(cluster: Cluster, alive: () => number[], perPublisher: number, onRetry?: (status: number, body: string) => void): Promise<Acknowledged[]> {
  return Promise.all([0, 1, 2, 3].map((p) => publishWithRetries(() => {
    const servers = alive();
    const first = servers.includes(p % 2) ? p % 2 : servers[0]!;
    return [first, ...servers.filter((s) => s !== first)].map((s) => cluster.feedUrl(s, 'bus'));
  }, `p${p}-`, perPublisher, { inFlight: 2, onRetry }))).then((all) => all.flat());
}

eachStore('a server SIGKILLed under load', () => {
  const cluster = new Cluster(FEEDS);
  before(() => cluster.start(2));
  after(cluster.cleanUp);

  test('every 201 is in the database once; readers on the other server go on', { timeout: 120_000 }, async () => {
    const readers = [new CursorReader(cluster.feedUrl(1, 'bus'), 'long-poll'), new CursorReader(cluster.feedUrl(1, 'bus'), 'sse')];
    let last: number | undefined;
    const reading = readers.map((r) => r.run(() => last));
    let alive = [0, 1];
    const publishing = publishers(cluster, () => alive, 300);
    await eventually(async () => (await stored(cluster)).length >= 300, 'a quarter of the messages to be stored', 60_000);
    cluster.servers[0]!.process.kill('SIGKILL');
    alive = [1];
    assert.equal(await cluster.servers[0]!.exited, 'SIGKILL');
    const acknowledged = await publishing;
    const seqs = await assertStoredOnce(cluster, acknowledged);
    last = seqs.at(-1);
    for (const [i, seen] of (await Promise.all(reading)).entries()) {
      assert.deepEqual(seen, seqs, `${i ? 'SSE' : 'long-poll'} reader on the surviving server: ${describeSeqs(seen, seqs)}`);
    }
  });
}, ['postgres']);

/** The command that restarts the PostgreSQL the tests use, when this machine can. */
function restartable(): string[] | string {
  const host = new URL(PG_URL).hostname;
  if (!['127.0.0.1', 'localhost', '::1', ''].includes(host)) return `ATOMMQ_TEST_PG is not on this machine (${host})`;
  if (!existsSync('/usr/bin/pg_ctlcluster') || !existsSync('/etc/postgresql')) return 'pg_ctlcluster is not installed';
  const command = ['pg_ctlcluster', '--skip-systemctl-redirect', readdirSync('/etc/postgresql')[0]!, 'main', 'restart'];
  if (process.getuid?.() === 0) return command;
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return ['sudo', '-n', ...command];
  } catch {
    return 'restarting PostgreSQL needs root, or sudo without a password';
  }
}

const restart = restartable();

eachStore('PostgreSQL restarted under load', () => {
  const cluster = new Cluster(FEEDS);
  before(() => cluster.start(2));
  after(cluster.cleanUp);

  test('503 problem+json while it is down, the servers reconnect by themselves, nothing acknowledged lost or stored twice', {
    timeout: 120_000,
    skip: typeof restart === 'string' && process.env.CI !== 'true' ? restart : false,
  }, async () => {
    if (typeof restart === 'string') assert.fail(`CI restarts PostgreSQL in this test, but ${restart}`);
    const reader = new CursorReader(cluster.feedUrl(1, 'bus'), 'long-poll');
    let last: number | undefined;
    const reading = reader.run(() => last);
    const refusals: Array<{ status: number; body: string }> = [];
    const publishing = publishers(cluster, () => [0, 1], 200, (status, body) => refusals.push({ status, body }));
    await eventually(async () => (await stored(cluster)).length >= 200, 'a quarter of the messages to be stored', 60_000);
    await promisify(execFile)(restart[0]!, restart.slice(1));
    const acknowledged = await publishing;

    assert.ok(refusals.length > 0, 'some requests came while the database was down');
    for (const { status, body } of refusals) {
      assert.equal(status, 503, `refused with 503, not ${status}: ${body}`);
      assert.equal((JSON.parse(body) as { code: string }).code, 'STORE_UNAVAILABLE', body);
    }
    const seqs = await assertStoredOnce(cluster, acknowledged);
    last = seqs.at(-1);
    assert.deepEqual(await reading, seqs, describeSeqs(reader.seqs, seqs));

    // Both servers answer again, and B hears of A's commits again: its LISTEN connection came back.
    for (const server of cluster.servers) assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const held = fetch(`${cluster.feedUrl(1, 'bus')}?format=json&wait=20`, { headers: { Xlastid: String(last) } });
    await new Promise((r) => setTimeout(r, 300));
    const res = await postAtom(cluster.feedUrl(0, 'bus'), entryXml('after the restart'));
    assert.equal(res.status, 201);
    const started = Date.now();
    const page = (await (await held).json()) as { entries: Array<{ seq: number }> };
    assert.deepEqual(page.entries.map((e) => e.seq), [Number(res.headers.get('xlastid'))]);
    assert.ok(Date.now() - started < 15_000, 'woken by the commit, not by the end of its wait');
  });
}, ['postgres']);
