import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadFeedFile } from '../src/config/feed-config.js';
import { FeedDirectory } from '../src/config/feed-directory.js';
import { resolveOptions } from '../src/config/server-options.js';
import { ConfigError } from '../src/errors/index.js';
import { entryXml, makeFeedsDir, postAtom, readJson, startTestServer, tempDir } from './support/server.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

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
    assert.match(options.db.path, /data\/atommq\.db$/);
    assert.ok(Object.isFrozen(options));
  });

  test('bad values are refused naming the flag and its variable', () => {
    assert.match(configError(() => resolveOptions({ port: 'eighty' })), /--port \(PORT\)/);
    assert.match(configError(() => resolveOptions({ db: 'mysql://x' })), /--db \(ATOMMQ_DB\)/);
    assert.match(configError(() => resolveOptions({ durability: 'yolo' })), /--durability/);
  });
});
