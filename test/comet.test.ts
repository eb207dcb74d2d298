/**
 * RestMQ's comet consumer, `GET /c/<name>`: one long response carrying each message as a line of
 * JSON until the client leaves. Read with a raw-socket client, and with curl when it is installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { entryXml, postAtom, problemOf, startTestServer, type TestServer } from './support/server.js';
import { consumers, eventually, publishMany, StreamClient } from './support/streams.js';

const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe('comet consumer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ news: {}, backlog: {} }, { heartbeat: '0.2' });
  });
  after(() => server.close());

  test('streams each new message as one JSON line, with blank keep-alive lines between', { timeout: 20_000 }, async () => {
    await postAtom(server.feedUrl('news'), entryXml('before'));
    const client = await StreamClient.open(`${server.url}/c/news`, { parse: 'lines' });
    assert.equal(client.status, 200);
    assert.match(client.headers['content-type'] ?? '', /^application\/x-ndjson/);
    const seqs = await publishMany(server.feedUrl('news'), 3, 1, 'comet-');
    await client.waitFor(() => client.lines.length === 3 && client.heartbeats >= 2, 'three lines and two keep-alives');
    const messages = client.lines.map((l) => JSON.parse(l) as { seq: number; title: string; id: string });
    assert.deepEqual(messages.map((m) => m.seq), seqs);
    assert.deepEqual(messages.map((m) => m.title), ['comet-0', 'comet-1', 'comet-2']);
    assert.ok(messages.every((m) => m.id.startsWith('urn:uuid:')));
    client.destroy();
    await eventually(async () => (await consumers(server.url)) === 0, 'the consumer to be unregistered when the client leaves');
  });

  test('with a cursor (?lastid= or Xlastid) what follows it comes first, then live messages', { timeout: 20_000 }, async () => {
    const url = server.feedUrl('backlog');
    const seqs = await publishMany(url, 5);
    const client = await StreamClient.open(`${server.url}/c/backlog?lastid=${seqs[1]}`, { parse: 'lines' });
    const live = await publishMany(url, 2);
    await client.waitFor(() => client.lines.length === 5, 'five lines');
    assert.deepEqual(client.seqs(), [...seqs.slice(2), ...live]);
    client.destroy();
    const header = await StreamClient.open(`${server.url}/c/backlog`, { parse: 'lines', headers: { Xlastid: String(seqs[3]) } });
    await header.waitFor(() => header.lines.length === 3, 'three lines');
    assert.deepEqual(header.seqs(), [seqs[4], ...live]);
    header.destroy();
  });

  test('an unknown name is a queue created on first use, as RestMQ binds to it; a bad name is a 400 and other methods a 405', { timeout: 20_000 }, async () => {
    const created = await StreamClient.open(`${server.url}/c/nope`, { parse: 'lines' });
    assert.equal(created.status, 200);
    created.destroy();
    assert.match(await (await fetch(server.url)).text(), /href="feeds\/nope"/);
    const bad = await fetch(`${server.url}/c/No%20pe`);
    assert.equal(bad.status, 400);
    assert.equal((await problemOf(bad)).code, 'INVALID_PARAMETER');
    const post = await fetch(`${server.url}/c/news`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('curl reads it as RestMQ\'s README shows', { timeout: 20_000, skip: hasCurl ? false : 'curl is not installed' }, async () => {
    const curl = spawn('curl', ['-sN', '--max-time', '5', `${server.url}/c/news`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    curl.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await eventually(async () => (await consumers(server.url)) === 1, 'curl to connect');
    const seqs = await publishMany(server.feedUrl('news'), 2, 1, 'curl-');
    await eventually(() => out.split('\n').filter(Boolean).length === 2, 'two lines from curl');
    curl.kill('SIGTERM');
    const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number });
    assert.deepEqual(lines.map((l) => l.seq), seqs);
  });
});
