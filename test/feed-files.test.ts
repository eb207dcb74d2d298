import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadFeedFile } from '../src/config/feed-config.js';
import { FeedDirectory } from '../src/config/feed-directory.js';
import { describeDsn } from '../src/config/dsn.js';
import { resolveOptions } from '../src/config/server-options.js';
import { ConfigError } from '../src/errors/index.js';
import { CLI, entryXml, makeFeedsDir, postAtom, ProcessScope, readJson, spawnServer, startTestServer, tempDir } from './support/server.js';

const dirs: string[] = [];
const scope = new ProcessScope();
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
after(scope.cleanUp);

/** The first line of /etc/passwd: what a link out of the feeds directory would leak into the logs. */
const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n')[0] as string;
const SECRET = 's3cret-token-do-not-log';

function feedsWith(files: Record<string, string>): string {
  const dir = tempDir();
  dirs.push(dir);
  const feeds = makeFeedsDir(dir, {});
  for (const [name, text] of Object.entries(files)) writeFileSync(join(feeds, name), text);
  return feeds;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('feed files', () => {
  test('{} is a feed with defaults named after its file', () => {
    const feed = loadFeedFile(join(feedsWith({ 'orders.json': '{}' }), 'orders.json'));
    assert.equal(feed.name, 'orders');
    assert.equal(feed.title, 'orders');
    assert.equal(feed.pageSize, 100);
    assert.equal(feed.immutable, false);
    assert.deepEqual(feed.author, { name: 'orders' });
    // Every feed keeps what its groups have not acked, and drops tombstones after a week.
    assert.deepEqual(feed.retention, { keepUnacked: true, tombstoneSeconds: 7 * 24 * 3600 });
  });

  test('an unknown field, a wrong type or bad JSON stops start-up naming the file and the field', () => {
    const dir = feedsWith({
      'typo.json': '{"pagesize": 10}',
      'wrongtype.json': '{"pageSize": "ten"}',
      'nested.json': '{"retention": {"maxEntries": -1}}',
      'broken.json': '{"title": ',
      'fine.json': '{}',
    });
    const message = configError(() => new FeedDirectory(dir));
    assert.match(message, /typo\.json: unknown field "pagesize"/);
    assert.match(message, /wrongtype\.json: field "pageSize"/);
    assert.match(message, /nested\.json: field "retention\.maxEntries"/);
    assert.match(message, /broken\.json: /);
    assert.doesNotMatch(message, /fine\.json/);
  });

  test('bad JSON is reported by line and column, never quoting the file', () => {
    const message = configError(() => new FeedDirectory(feedsWith({ 'leaky.json': `{\n  "title": ${SECRET}\n}` })));
    assert.match(message, /leaky\.json: not valid JSON at line 2, column 12/);
    assert.doesNotMatch(message, /s3cret/);
  });

  test('a database of a scheme no store reads stops start-up naming the file and the field', () => {
    const message = configError(() => new FeedDirectory(feedsWith({ 'elsewhere.json': '{"db": "mysql://db.example/bus"}' })));
    assert.match(message, /elsewhere\.json: field "db": .*mysql:/);
  });

  test('a link out of the feeds directory is refused naming the link; a link to a file inside is read', () => {
    const dir = feedsWith({ 'real.json': '{"title": "Real"}' });
    symlinkSync('/etc/passwd', join(dir, 'pw.json'));
    symlinkSync(join(dir, 'real.json'), join(dir, 'alias.json'));
    const message = configError(() => new FeedDirectory(dir));
    assert.match(message, /pw\.json: is a link to a file outside the feeds directory/);
    assert.ok(!message.includes(PASSWD_LINE.slice(0, 8)), message);
    assert.doesNotMatch(message, /alias\.json|real\.json/);
    assert.equal(loadFeedFile(join(dir, 'alias.json')).title, 'Real');
  });

  test('a FIFO, a directory or a huge file named *.json is refused without blocking on it or reading it whole', { timeout: 10_000 }, () => {
    const dir = feedsWith({ 'huge.json': `{"title": "${'x'.repeat(100_000)}"}` });
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    makeFeedsDir(join(dir, 'folder.json'), {});
    const message = configError(() => new FeedDirectory(dir));
    assert.match(message, /fifo\.json: is not a regular file/);
    assert.match(message, /folder\.json: is not a regular file/);
    assert.match(message, /huge\.json: is \d+ bytes/);
  });

  test('a file name that is not a valid feed name is refused', () => {
    assert.match(configError(() => new FeedDirectory(feedsWith({ 'Bad Name.json': '{}' }))), /"Bad Name" is not a valid feed name/);
  });

  test('a missing feeds directory is refused', () => {
    assert.match(configError(() => new FeedDirectory('/nonexistent/feeds')), /--feeds/);
  });

  test('files added, changed and removed while running mount, update and unmount feeds; entries survive removal', async () => {
    const server = await startTestServer({});
    try {
      assert.equal((await fetch(server.feedUrl('late'))).status, 404);
      server.writeFeed('late', { title: 'Late feed' });
      await eventually(async () => (await fetch(server.feedUrl('late'))).status === 200, 'late to mount');
      const seq = Number((await postAtom(server.feedUrl('late'), entryXml('kept'))).headers.get('xlastid'));

      server.writeFeed('late', { title: 'Renamed title' });
      await eventually(async () => (await readJson(server.feedUrl('late'), 0)).body.feed.title === 'Renamed title', 'title to update');

      // A broken edit keeps the last good configuration.
      writeFileSync(join(server.feedsDir, 'late.json'), '{"pageSize": 0}');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await readJson(server.feedUrl('late'), 0)).body.feed.title, 'Renamed title');

      rmSync(join(server.feedsDir, 'late.json'));
      await eventually(async () => (await fetch(server.feedUrl('late'))).status === 404, 'late to unmount');

      server.writeFeed('late', {});
      await eventually(async () => (await fetch(server.feedUrl('late'))).status === 200, 'late to mount again');
      assert.deepEqual((await readJson(server.feedUrl('late'), 0)).body.entries.map((e) => e.seq), [seq]);
    } finally {
      await server.close();
    }
  });

  test('a feed file that fails at run time is logged naming it, quoting none of it, and the last good configuration is kept', async () => {
    const args = await scope.serverArgs('atommq-feedfail-', { late: { title: 'Good' } });
    const server = scope.track(await spawnServer(args));
    const feedUrl = `${server.url}/feeds/late`;
    const notADir = join(args.feedsDir, '..', 'a-file');
    writeFileSync(notADir, '');
    writeFileSync(join(args.feedsDir, 'late.json'), JSON.stringify({ db: `sqlite:${join(notADir, 'x.db')}` }));
    symlinkSync('/etc/passwd', join(args.feedsDir, 'pw.json'));
    writeFileSync(join(args.feedsDir, 'leaky.json'), SECRET);
    await eventually(async () => ['late.json', 'pw.json', 'leaky.json'].every((f) => server.output().includes(f)), 'the three errors to be logged');

    assert.equal(server.process.exitCode, null, `the server ended: ${server.output()}`);
    assert.equal((await readJson(feedUrl, 0)).body.feed.title, 'Good');
    assert.equal((await postAtom(feedUrl, entryXml('still served'))).status, 201);
    assert.equal((await fetch(`${server.url}/feeds/pw`)).status, 404);
    assert.match(server.output(), /late\.json: field \W*db\W*: cannot open the database/);
    assert.match(server.output(), /pw\.json: is a link to a file outside the feeds directory/);
    assert.match(server.output(), /leaky\.json: not valid JSON at line 1, column 1/);
    assert.ok(!server.output().includes(PASSWD_LINE.slice(0, 8)), 'a line of /etc/passwd was logged');
    assert.doesNotMatch(server.output(), /s3cret/);
  });

  test('a feed file whose database cannot be opened stops start-up with exit code 2, naming the file', async () => {
    const args = await scope.serverArgs('atommq-feedstart-', {});
    writeFileSync(join(args.feedsDir, '..', 'a-file'), '');
    writeFileSync(join(args.feedsDir, 'broken.json'), JSON.stringify({ db: `sqlite:${join(args.feedsDir, '..', 'a-file', 'x.db')}` }));
    symlinkSync('/etc/passwd', join(args.feedsDir, 'pw.json'));
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(args.port), '--host', '127.0.0.1',
      '--feeds', args.feedsDir, '--db', `sqlite:${args.dbPath}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /broken\.json: field "db": cannot open the database/);
    assert.match(stderr, /pw\.json: is a link to a file outside the feeds directory/);
    assert.ok(!stderr.includes(PASSWD_LINE.slice(0, 8)), stderr);
  });

  test('a feed may keep its entries in a database of its own', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const server = await startTestServer({ own: { db: `sqlite:${join(dir, 'own.db')}` }, shared: {} });
    try {
      const own = await postAtom(server.feedUrl('own'), entryXml('separate'));
      assert.equal(own.status, 201);
      assert.equal(own.headers.get('xlastid'), '1', 'a fresh database starts its own sequence');
      await postAtom(server.feedUrl('shared'), entryXml('main'));
      assert.equal((await readJson(server.feedUrl('own'), 0)).body.entries.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('server options', () => {
  test('defaults', () => {
    const options = resolveOptions({});
    assert.equal(options.port, 8080);
    assert.equal(options.durability, 'fsync');
    assert.equal(options.bodyLimit, 1024 * 1024);
    assert.ok(options.db.kind === 'sqlite' && /data\/atommq\.db$/.test(options.db.path), JSON.stringify(options.db));
    assert.deepEqual([options.headersTimeout, options.requestTimeout, options.baseUrl], [10, 30, undefined]);
    assert.ok(Object.isFrozen(options));
  });

  test('bad values are refused naming the flag and its variable', () => {
    assert.match(configError(() => resolveOptions({ port: 'eighty' })), /--port \(PORT\)/);
    assert.match(configError(() => resolveOptions({ db: 'mysql://x' })), /--db \(ATOMMQ_DB\)/);
    assert.match(configError(() => resolveOptions({ db: 'sqlite:' })), /--db \(ATOMMQ_DB\)/);
    assert.match(configError(() => resolveOptions({ durability: 'yolo' })), /--durability/);
    assert.match(configError(() => resolveOptions({ headersTimeout: '60', requestTimeout: '30' })), /--headers-timeout \(ATOMMQ_HEADERS_TIMEOUT\)/);
    assert.match(configError(() => resolveOptions({ baseUrl: 'https://bus.example.com/?x=1' })), /--base-url/);
    assert.match(configError(() => resolveOptions({ baseUrl: 'ftp://bus.example.com' })), /--base-url/);
  });

  test('--db postgres:// (or postgresql://) selects PostgreSQL; logs show it without its password', () => {
    for (const url of ['postgres://atommq@db.example.com:5432/bus', 'postgresql://atommq:secret@db.example.com/bus?options=-c%20search_path%3Dmq']) {
      assert.deepEqual(resolveOptions({ db: url }).db, { kind: 'postgres', url });
    }
    assert.match(configError(() => resolveOptions({ db: 'postgres:bus' })), /--db \(ATOMMQ_DB\).*postgres:\/\/USER@HOST:PORT\/DATABASE/);
    const shown = describeDsn({ kind: 'postgres', url: 'postgres://atommq:secret@db.example.com/bus' });
    assert.ok(!shown.includes('secret') && shown.includes('db.example.com/bus'), shown);
  });

  test('--base-url is normalised: no trailing slash, escapes where a URL needs them', () => {
    assert.equal(resolveOptions({ baseUrl: 'HTTPS://Bus.Example.com/at mq/' }).baseUrl, 'https://bus.example.com/at%20mq');
  });
});
