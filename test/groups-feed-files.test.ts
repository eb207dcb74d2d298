/**
 * Consumer groups declared in feed files: `groups: {"<group>": {lease, maxDeliveries, start}}`,
 * validated like every other field, declared in the store when the feed mounts and again when its
 * file changes; the first claim of a declared group gets the file's settings.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FeedDirectory } from '../src/config/feed-directory.js';
import { ConfigError } from '../src/errors/index.js';
import { claim, groupStatus, type GroupStatusJson } from './support/groups-http.js';
import { makeFeedsDir, startTestServer, tempDir } from './support/server.js';
import { eventually, publishMany } from './support/streams.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('consumer groups in feed files', () => {
  test('declared at start-up with the file\'s settings; a change to the file updates them; a new group is declared', async () => {
    const server = await startTestServer({ jobs: { groups: { workers: { lease: 5, maxDeliveries: 3, start: 'latest' }, audit: {} } } });
    try {
      const url = server.feedUrl('jobs');
      const list = (await (await fetch(`${url}/groups`)).json()) as { groups: GroupStatusJson[] };
      assert.deepEqual(list.groups.map((g) => [g.group, g.leaseSeconds, g.maxDeliveries, g.start]),
        [['audit', 30, 5, 'earliest'], ['workers', 5, 3, 'latest']]);

      server.writeFeed('jobs', { groups: { workers: { lease: 7 }, billing: { start: 'latest' } } });
      await eventually(async () => (await groupStatus(url, 'workers')).leaseSeconds === 7, 'the new lease');
      await eventually(async () => (await fetch(`${url}/groups/billing`)).status === 200, 'the new group');
      const workers = await groupStatus(url, 'workers');
      assert.deepEqual([workers.maxDeliveries, workers.start], [3, 'latest'], 'what the file no longer says is left as it was');
      assert.equal((await fetch(`${url}/groups/audit`)).status, 200, 'a group the file no longer names is kept');
    } finally {
      await server.close();
    }
  });

  test('a declared group created again by a claim (after a DELETE) takes the settings of its feed file', async () => {
    const server = await startTestServer({ jobs: { groups: { late: { lease: 9 } } } });
    try {
      const url = server.feedUrl('jobs');
      await publishMany(url, 1, 1);
      assert.equal((await fetch(`${url}/groups/late`, { method: 'DELETE' })).status, 204);
      const [m] = (await claim(url, 'late')).messages;
      assert.ok(Date.parse(m!.leaseExpires) <= Date.now() + 9_000, 'the lease of the file, 9 s, not the default 30');
      assert.equal((await groupStatus(url, 'late')).leaseSeconds, 9);
    } finally {
      await server.close();
    }
  });

  test('a bad declaration stops start-up naming the file and the field', () => {
    const dir = tempDir();
    dirs.push(dir);
    const feeds = makeFeedsDir(dir, {});
    const files: Record<string, unknown> = {
      name: { groups: { Workers: {} } },
      lease: { groups: { w: { lease: 0 } } },
      typo: { groups: { w: { leases: 5 } } },
      start: { groups: { w: { start: 'middle' } } },
      shape: { groups: ['w'] },
      fine: { groups: { w: { lease: 60, maxDeliveries: 10, start: 'earliest' } } },
    };
    for (const [name, body] of Object.entries(files)) writeFileSync(join(feeds, `${name}.json`), JSON.stringify(body));
    let message = '';
    try {
      new FeedDirectory(feeds);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      message = error.message;
    }
    assert.match(message, /name\.json: field "groups\.Workers"/);
    assert.match(message, /lease\.json: field "groups\.w\.lease"/);
    assert.match(message, /typo\.json: unknown field "groups\.w\.leases"/);
    assert.match(message, /start\.json: field "groups\.w\.start"/);
    assert.match(message, /shape\.json: field "groups"/);
    assert.doesNotMatch(message, /fine\.json/);
  });
});
