/**
 * Graceful shutdown and start-up failure of the real `atommq serve` process (DESIGN.md section 8):
 * on SIGTERM/SIGINT the server stops accepting, answers held long-polls at once, finishes the
 * writes it has received, closes the database cleanly and exits 0. A bad feed file stops start-up
 * with exit code 2 and a message naming the file and the field.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  ATOM, CLI, entryXml, freePort, makeFeedsDir, postAtom, ProcessScope, readJson, spawnServer, type SpawnArgs,
  type JsonEntry,
} from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A POST whose headers and first half of the body go out now and whose rest goes out on
 * `finish()`: a write the server has already received and started on when the signal comes.
 */
function slowPost(url: string, body: string, agent: Agent): { finish: () => void; answer: Promise<Answer> } {
  const target = new URL(url);
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const req = request({
    method: 'POST', host: target.hostname, port: target.port, path: target.pathname, agent,
    headers: { 'Content-Type': ATOM, 'Content-Length': String(bytes.length) },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  req.write(bytes.subarray(0, half));
  return { finish: () => req.end(bytes.subarray(half)), answer };
}

type Outcome =
  | { kind: 'created'; title: string; seq: number }
  | { kind: 'refused'; title: string }
  | { kind: 'unknown'; title: string; error: string };

/** Publishes in a loop until the server refuses (503) or the connection fails. */
async function publishUntilRefused(feedUrl: string, name: string, outcomes: Outcome[]): Promise<void> {
  for (let n = 0; n < 100_000; n++) {
    const title = `${name}-n${n}`;
    let res: Response;
    try {
      res = await postAtom(feedUrl, entryXml(title));
    } catch (error) {
      outcomes.push({ kind: 'unknown', title, error: String((error as { cause?: unknown }).cause ?? error) });
      return;
    }
    const text = await res.text();
    if (res.status === 201) {
      outcomes.push({ kind: 'created', title, seq: Number(res.headers.get('xlastid')) });
      continue;
    }
    assert.equal(res.status, 503, `POST ${title} during shutdown: expected 201 or 503, got ${res.status} ${text}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = JSON.parse(text) as { status: number; detail: string };
    assert.equal(problem.status, 503);
    assert.ok(problem.detail, 'the 503 says why');
    outcomes.push({ kind: 'refused', title });
    return;
  }
}

async function readWholeFeed(feedUrl: string): Promise<JsonEntry[]> {
  const all: JsonEntry[] = [];
  let cursor = 0;
  for (;;) {
    const { status, body } = await readJson(feedUrl, cursor, '&limit=1000');
    assert.equal(status, 200);
    if (body.entries.length === 0) return all;
    all.push(...body.entries);
    cursor = body.lastid;
  }
}

async function post(feedUrl: string, title: string): Promise<number> {
  const res = await postAtom(feedUrl, entryXml(title));
  assert.equal(res.status, 201, await res.text());
  return Number(res.headers.get('xlastid'));
}

/**
 * After a clean exit the WAL is checkpointed into the database and removed, and the file passes
 * SQLite's integrity check. Returns the seqs stored for `feed`, oldest first.
 */
function assertClosedCleanly(dbPath: string, feed: string): number[] {
  const wal = `${dbPath}-wal`;
  assert.ok(!existsSync(wal) || statSync(wal).size === 0,
    `a clean close checkpoints and removes ${wal} (size ${existsSync(wal) ? statSync(wal).size : 0})`);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const rows = db.prepare('SELECT seq FROM entries WHERE feed = ? ORDER BY seq').all(feed) as Array<{ seq: number }>;
    return rows.map((r) => r.seq);
  } finally {
    db.close();
  }
}

describe('graceful shutdown', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  const setUp = (): Promise<SpawnArgs> => scope.serverArgs('atommq-shutdown-', { busy: {}, quiet: {} });

  test('SIGTERM answers held long-polls at once, finishes received writes, exits 0, loses nothing', { timeout: 30_000 }, async () => {
    const args = await setUp();
    const { dbPath } = args;
    const server = await spawnServer(args);
    scope.track(server);
    const busy = `${server.url}/feeds/busy`;
    const quiet = `${server.url}/feeds/quiet`;

    const acked = new Map<string, number>();
    for (const title of ['seed-1', 'seed-2']) acked.set(title, await post(busy, title));
    const quietNewest = await post(quiet, 'quiet-seed');

    // A long-poll held on a feed nobody writes to: only the shutdown can end it before 20 s.
    const pollStarted = Date.now();
    let pollAnsweredAt = 0;
    const poll = fetch(`${quiet}?format=json&wait=20`, { headers: { Xlastid: String(quietNewest) } })
      .then(async (res) => {
        pollAnsweredAt = Date.now();
        return { status: res.status, lastid: res.headers.get('xlastid'), body: await res.json() as { entries: JsonEntry[] } };
      });

    // Writes the server has received (headers and half the body) when the signal comes, on
    // keep-alive connections as any pooling client uses.
    const agent = new Agent({ keepAlive: true });
    const slow = [1, 2, 3].map((i) => ({ title: `slow-${i}`, ...slowPost(busy, entryXml(`slow-${i}`), agent) }));
    // And publishers racing the signal. A publisher's POST can meet a connection the server is
    // closing (a reset, or a refused connect once the listener is gone): its fate is unknown, so
    // it may be stored (at most once) or not, but an acknowledged one must be stored.
    const outcomes: Outcome[] = [];
    const publishers = Promise.all([1, 2, 3, 4].map((p) => publishUntilRefused(busy, `burst-p${p}`, outcomes)));

    await sleep(400);
    assert.equal(pollAnsweredAt, 0, 'the long-poll is held before the signal');
    assert.ok(outcomes.filter((o) => o.kind === 'created').length > 0, 'the publishers were running before the signal');

    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    await sleep(250);
    for (const s of slow) s.finish();

    const answered = await poll;
    assert.equal(answered.status, 200);
    assert.deepEqual(answered.body.entries, [], 'nothing was published to the quiet feed');
    assert.equal(answered.lastid, String(quietNewest), 'an empty page echoes the cursor');
    assert.ok(pollAnsweredAt - signalledAt < 2000,
      `the held long-poll is answered promptly on SIGTERM (after ${pollAnsweredAt - signalledAt} ms; held ${pollAnsweredAt - pollStarted} ms)`);

    const slowAnswers: Answer[] = [];
    for (const s of slow) {
      const answer = await s.answer;
      assert.equal(answer.status, 201, `${s.title}, received before SIGTERM, must be stored: got ${answer.status} ${answer.body}`);
      acked.set(s.title, Number(answer.headers.xlastid));
      slowAnswers.push(answer);
    }
    await publishers;
    agent.destroy();

    const code = await server.exited;
    assert.equal(code, 0, `exit code after SIGTERM; output:\n${server.output()}`);
    assert.ok(Date.now() - signalledAt < 8000, `exited ${Date.now() - signalledAt} ms after SIGTERM`);
    assertClosedCleanly(dbPath, 'busy');

    const unknown = new Set<string>();
    for (const o of outcomes) {
      if (o.kind === 'created') acked.set(o.title, o.seq);
      if (o.kind === 'unknown') unknown.add(o.title);
    }

    // Everything acknowledged is there after a restart, once, at its seq.
    const again = await spawnServer(args);
    scope.track(again);
    const entries = await readWholeFeed(`${again.url}/feeds/busy`);
    const seen = new Map<string, number>();
    for (const e of entries) {
      const title = String(e.title);
      assert.ok(!seen.has(title), `"${title}" is stored twice`);
      assert.ok(acked.has(title) || unknown.has(title), `"${title}" was answered 503 (or never sent) but is stored`);
      seen.set(title, e.seq);
    }
    for (const [title, seq] of acked) assert.equal(seen.get(title), seq, `"${title}" was acknowledged at seq ${seq}`);
    again.process.kill('SIGTERM');
    assert.equal(await again.exited, 0);

    // A response sent while draining must not invite the client to reuse a connection the server
    // is about to close (it closes idle connections every 50 ms while draining): a client's next
    // request on it would be reset, and for a POST the client cannot tell whether it was stored.
    for (const answer of slowAnswers) {
      assert.equal(answer.headers.connection, 'close', 'responses sent after SIGTERM say "Connection: close"');
    }
  });

  test('SIGINT also shuts down cleanly: exit 0, WAL checkpointed away, integrity ok, every write there', { timeout: 20_000 }, async () => {
    const args = await setUp();
    const { dbPath } = args;
    const server = await spawnServer(args);
    scope.track(server);
    const busy = `${server.url}/feeds/busy`;
    const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => post(busy, `entry-${i}`)));
    assert.ok(existsSync(`${dbPath}-wal`), 'the server runs in WAL mode');

    server.process.kill('SIGINT');
    assert.equal(await server.exited, 0, server.output());

    const rows = assertClosedCleanly(dbPath, 'busy');
    assert.deepEqual(rows, [...seqs].sort((a, b) => a - b));
  });
});

describe('start-up failure', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  /** Runs `atommq serve` against a feeds directory; resolves with its exit code and stderr. */
  async function serveWith(feeds: Record<string, object>): Promise<{ code: number | null; stderr: string; feedsDir: string }> {
    const dir = scope.tempDir('atommq-startup-');
    const feedsDir = makeFeedsDir(dir, feeds);
    const child = spawn(process.execPath, [CLI, 'serve', '--feeds', feedsDir, '--db', `sqlite:${join(dir, 'atommq.db')}`,
      '--port', String(await freePort()), '--host', '127.0.0.1', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stderr, feedsDir };
  }

  test('a feed file with an unknown field exits 2 naming the file and the field', { timeout: 15_000 }, async () => {
    const { code, stderr, feedsDir } = await serveWith({ good: {}, orders: { title: 'Orders', titel: 'typo' } });
    assert.equal(code, 2, `exit code; stderr:\n${stderr}`);
    assert.ok(stderr.includes(join(feedsDir, 'orders.json')), `stderr names the file: ${stderr}`);
    assert.match(stderr, /"titel"/, 'stderr names the field');
    assert.doesNotMatch(stderr, /good\.json/, 'only the bad file is blamed');
  });

  test('a feed file with a field of the wrong type exits 2 naming the file and the field', { timeout: 15_000 }, async () => {
    const { code, stderr, feedsDir } = await serveWith({ metrics: { pageSize: 'ten' } });
    assert.equal(code, 2, `exit code; stderr:\n${stderr}`);
    assert.ok(stderr.includes(join(feedsDir, 'metrics.json')), `stderr names the file: ${stderr}`);
    assert.match(stderr, /pageSize/);
  });
});
