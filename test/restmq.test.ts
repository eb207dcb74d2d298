/**
 * RestMQ's routes (DESIGN.md section 12): its own example script run as it is, with curl, against
 * `atommq serve`; then each route, created-on-first-use queues, policies and start/stop, over a
 * real server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { claim, groupStatus, sleep } from './support/groups-http.js';
import { expectProblem, refusedAt } from './support/problem.js';
import { ProcessScope, readJson, spawnServer, startTestServer, type ChildServer, type SpawnArgs, type TestServer } from './support/server.js';
import { consumers, eventually, StreamClient } from './support/streams.js';
import { eachStore } from './support/postgres.js';

const hasCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
/** util-linux's script(1) runs a command on a terminal of its own, where curl writes each line as it comes. */
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** RestMQ's examples/test_rest.sh, command by command, as its repository has it. */
const TEST_REST = [
  'curl -X POST -d "queue=test&value=foobar" http://localhost:8888/',
  'curl -X POST -d \'body={"cmd":"get", "queue":"test"}\' http://localhost:8888/queue',
  'curl -X POST -d "value=foobar" http://localhost:8888/q/test',
  'curl http://localhost:8888/q/test',
  'curl http://localhost:8888/control/test',
  'curl -X POST -d "status=stop" http://localhost:8888/control/test',
  'curl http://localhost:8888/control/test',
  'curl -X POST -d "status=start" http://localhost:8888/control/test',
  'curl http://localhost:8888/control/test',
  'curl -X DELETE http://localhost:8888/q/test',
  'curl http://localhost:8888/p/test',
  'curl -D - -X POST -d "policy=roundrobin" http://localhost:8888/p/test',
  'curl http://localhost:8888/p/test',
  'curl -D - -X POST -d "policy=broadcast" http://localhost:8888/p/test',
  'curl http://localhost:8888/p/test',
  'curl http://localhost:8888/c/test',
];

/** Runs one command of the script through the shell, on the server's port instead of 8888; its stdout. */
function sh(command: string, port: number): string {
  const run = spawnSync('sh', ['-c', command.replace('localhost:8888', `localhost:${port}`)], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(run.status, 0, `${command}: ${run.stderr}`);
  return run.stdout;
}

/** The body of an answer `curl -D -` printed with its head; asserts the status line. */
function bodyAfterHead(output: string, status: string): string {
  const [head = '', body = ''] = output.split('\r\n\r\n');
  assert.match(head, new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`), head);
  return body;
}

describe('RestMQ: examples/test_rest.sh against atommq serve', { skip: hasCurl && hasScript ? false : 'curl or script(1) is not installed' }, () => {
  const scope = new ProcessScope();
  let server: ChildServer;
  let args: SpawnArgs;
  let port: number;
  before(async () => {
    args = await scope.serverArgs('atommq-restmq-', {});
    port = args.port;
    server = scope.track(await spawnServer(args));
  });
  after(scope.cleanUp);

  test('every answer is the one DESIGN.md 12 gives, and the comet consumer prints what is added', { timeout: 60_000 }, async () => {
    const json = (i: number): unknown => JSON.parse(sh(TEST_REST[i] as string, port));
    const added = /^test:(\d+)\n$/.exec(sh(TEST_REST[0] as string, port));
    assert.ok(added, 'POST / answers the key, test:<seq>');
    const first = `test:${added[1]}`;
    assert.deepEqual(json(1), { queue: 'test', value: 'foobar', key: first, count: 1 }, 'a soft get leaves the message, counted');
    assert.match(sh(TEST_REST[2] as string, port), /^test:\d+\n$/);
    assert.deepEqual(json(3), { key: first, value: 'foobar', count: 2 }, 'the take hands out the oldest message, its count now 2');
    assert.deepEqual(json(4), { queue: 'test', status: 'start' });
    assert.deepEqual(json(5), { queue: 'test', status: 'stop' });
    assert.deepEqual(json(6), { queue: 'test', status: 'stop' });
    assert.deepEqual(json(7), { queue: 'test', status: 'start' });
    assert.deepEqual(json(8), { queue: 'test', status: 'start' });
    assert.deepEqual(json(9), { queue: 'test', purged: true });
    assert.equal((await fetch(`${server.url}/q/test`)).status, 204, 'the purge left nothing to take');
    assert.deepEqual(json(10), { queue: 'test', value: 'broadcast' });
    assert.deepEqual(JSON.parse(bodyAfterHead(sh(TEST_REST[11] as string, port), '200 OK')), { queue: 'test', value: 'roundrobin' });
    assert.deepEqual(json(12), { queue: 'test', value: 'roundrobin' });
    assert.deepEqual(JSON.parse(bodyAfterHead(sh(TEST_REST[13] as string, port), '200 OK')), { queue: 'test', value: 'broadcast' });
    assert.deepEqual(json(14), { queue: 'test', value: 'broadcast' });

    // The last command streams until it is stopped: in one terminal, and an add in another.
    const comet = spawn('script', ['-qfec', (TEST_REST[15] as string).replace('localhost:8888', `localhost:${port}`), '/dev/null'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    comet.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await eventually(async () => (await consumers(server.url)) === 1, 'the comet consumer to connect');
      const key = sh('curl -d "value=foobar" http://localhost:8888/q/test', port).trim();
      await eventually(() => out.includes('\n'), 'the comet consumer to print the message');
      const line = JSON.parse(out.split(/\r?\n/)[0] as string) as { seq: number; content: string };
      assert.equal(`test:${line.seq}`, key);
      assert.equal(line.content, 'foobar');
    } finally {
      comet.kill('SIGKILL');
    }
  });

  test('a queue created on first use, its messages, policy and status are kept in the database across a restart', { timeout: 60_000 }, async () => {
    const key = sh('curl -s -d "value=kept" http://localhost:8888/q/kept', port).trim();
    sh('curl -s -d "policy=roundrobin" http://localhost:8888/p/kept', port);
    sh('curl -s -d "status=stop" http://localhost:8888/control/kept', port);
    server.process.kill('SIGTERM');
    await server.exited;
    server = scope.track(await spawnServer(args));
    assert.match(await (await fetch(server.url)).text(), /<collection href="feeds\/kept">/);
    assert.deepEqual(await (await fetch(`${server.url}/stats/kept`)).json(), { queue: 'kept', len: 1, status: 'stop', policy: 'roundrobin' });
    await fetch(`${server.url}/control/kept`, { method: 'POST', body: new URLSearchParams({ status: 'start' }) });
    assert.deepEqual(await (await fetch(`${server.url}/q/kept`)).json(), { key, value: 'kept', count: 1 });
  });
});

/** A RestMQ form POST, as `curl -d` sends it. */
function form(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

/** Adds a value to a queue; its RestMQ key. */
async function add(server: TestServer, queue: string, value: string, extra: Record<string, string> = {}): Promise<string> {
  const res = await form(`${server.url}/q/${queue}`, { value, ...extra });
  assert.equal(res.status, 200);
  return (await res.text()).trim();
}

/** One command of the JSON protocol. */
async function command(server: TestServer, body: object): Promise<Record<string, unknown>> {
  const res = await form(`${server.url}/queue`, { body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

async function take(server: TestServer, queue: string): Promise<{ status: number; body?: { key: string; value: string; count: number } }> {
  const res = await fetch(`${server.url}/q/${queue}`);
  return res.status === 200 ? { status: 200, body: (await res.json()) as { key: string; value: string; count: number } } : { status: res.status };
}

function contentOf(lines: readonly string[]): string[] {
  return lines.map((l) => (JSON.parse(l) as { content: string }).content);
}

eachStore('RestMQ routes', (kind) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ atom: {} }, {}, kind);
  });
  after(() => server.close());

  test('POST / and POST /q/<queue> add (value= or msg=) and answer the key; takes come oldest first, as JSON; GET /q/ lists the queues', async () => {
    const a = (await (await form(`${server.url}/`, { queue: 'orders', value: 'one' })).text()).trim();
    const b = await add(server, 'orders', 'two');
    const c = (await (await form(`${server.url}/q/orders`, { msg: 'three' })).text()).trim();
    assert.match(a, /^orders:\d+$/);
    assert.deepEqual((await take(server, 'orders')).body, { key: a, value: 'one', count: 1 });
    const index = await fetch(`${server.url}/?queue=orders`);
    assert.deepEqual(await index.json(), { key: b, value: 'two', count: 1 });
    assert.deepEqual((await take(server, 'orders')).body, { key: c, value: 'three', count: 1 });
    assert.equal((await take(server, 'orders')).status, 204, 'an empty queue: 204 on /q');
    await expectProblem(await fetch(`${server.url}/?queue=orders`), 404, 'QUEUE_EMPTY');
    const list = (await (await fetch(`${server.url}/q/`)).json()) as { queues: string[] };
    assert.ok(list.queues.includes('orders') && list.queues.includes('atom'), 'every feed is a queue');
    const service = await fetch(`${server.url}/`);
    assert.match(service.headers.get('content-type') ?? '', /^application\/atomsvc\+xml/, 'GET / without a queue is still the service document');
    assert.match(await service.text(), /href="feeds\/orders"/, 'the queue created on first use is in the service document');
  });

  test('a take is acknowledged in the group restmq once answered; HEAD takes nothing', async () => {
    const key = await add(server, 'acked', 'x');
    assert.equal((await fetch(`${server.url}/q/acked`, { method: 'HEAD' })).status, 405);
    assert.equal((await take(server, 'acked')).body?.key, key);
    const seq = Number(key.split(':')[1]);
    await eventually(async () => (await groupStatus(server.feedUrl('acked'), 'restmq')).ackFloor >= seq, 'the take to be acked');
    assert.equal((await groupStatus(server.feedUrl('acked'), 'restmq')).pending, 0);
  });

  test('the JSON protocol: add, get (soft: the message stays, its count grows), take, del; an empty queue is {"error": "empty queue"}', async () => {
    const added = await command(server, { cmd: 'add', queue: 'jobs', value: 'first' });
    assert.equal(added.queue, 'jobs');
    assert.equal(added.value, 'first');
    assert.match(added.key as string, /^jobs:\d+$/);
    const second = await command(server, { cmd: 'add', queue: 'jobs', value: 'second' });
    assert.deepEqual(await command(server, { cmd: 'get', queue: 'jobs' }), { queue: 'jobs', value: 'first', key: added.key, count: 1 });
    assert.deepEqual(await command(server, { cmd: 'get', queue: 'jobs' }), { queue: 'jobs', value: 'first', key: added.key, count: 2 });
    assert.deepEqual(await command(server, { cmd: 'del', queue: 'jobs', key: added.key }), { queue: 'jobs', key: added.key, deleted: true });
    assert.deepEqual(await command(server, { cmd: 'del', queue: 'jobs', key: added.key }), { queue: 'jobs', key: added.key, deleted: false });
    assert.deepEqual(await command(server, { cmd: 'take', queue: 'jobs' }), { queue: 'jobs', value: 'second', key: second.key },
      'a deleted message is never handed out');
    assert.deepEqual(await command(server, { cmd: 'take', queue: 'jobs' }), { error: 'empty queue' });
    assert.deepEqual(await command(server, { cmd: 'get', queue: 'jobs' }), { error: 'empty queue' });
    const help = await fetch(`${server.url}/queue`);
    assert.match(help.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await help.text(), /"cmd": "take"/);
  });

  test('ttl: a message is no longer handed out once its ttl has passed', async () => {
    await add(server, 'ttl', 'short', { ttl: '1' });
    const kept = await command(server, { cmd: 'add', queue: 'ttl', value: 'kept', ttl: 3600 });
    await sleep(1100);
    assert.deepEqual((await take(server, 'ttl')).body, { key: kept.key, value: 'kept', count: 1 });
    assert.equal((await take(server, 'ttl')).status, 204);
    assert.equal((await groupStatus(server.feedUrl('ttl'), 'restmq')).expired, 1);
  });

  test('start and stop pause consumers (takes, claims, comet, WebSocket), never publishers', { timeout: 20_000 }, async () => {
    const base = `${server.url}/control/paused`;
    await add(server, 'paused', 'before');
    const comet = await StreamClient.open(`${server.url}/c/paused`, { parse: 'lines' });
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/paused?format=json`);
    const wsMessages: string[] = [];
    ws.on('message', (m) => wsMessages.push(m.toString()));
    await new Promise((resolve) => ws.once('open', resolve));
    assert.deepEqual(await (await form(base, { status: 'stop' })).json(), { queue: 'paused', status: 'stop' });
    await add(server, 'paused', 'while stopped');
    assert.equal((await take(server, 'paused')).status, 204, 'a stopped queue hands nothing out');
    assert.equal((await claim(server.feedUrl('paused'), 'workers')).messages.length, 0, 'nor do its groups');
    const held = claim(server.feedUrl('paused'), 'workers', { wait: 10 });
    await sleep(200);
    assert.equal(comet.lines.length, 0);
    assert.equal(wsMessages.length, 0);
    await form(base, { status: 'start' });
    const woken = await held;
    assert.equal(woken.messages.length, 1, 'starting the queue wakes a held claim');
    await comet.waitFor(() => comet.lines.length === 1, 'the comet stream to get what was published while stopped');
    assert.deepEqual(contentOf(comet.lines), ['while stopped']);
    await eventually(() => wsMessages.length === 1, 'the WebSocket to get it too');
    assert.deepEqual(contentOf(wsMessages), ['while stopped']);
    assert.deepEqual((await take(server, 'paused')).body?.value, 'before');
    comet.destroy();
    ws.close();
  });

  test('a policy set with POST /p applies to the comet consumers already connected, as in RestMQ', { timeout: 20_000 }, async () => {
    const streams = await Promise.all([1, 2].map(() => StreamClient.open(`${server.url}/c/shared`, { parse: 'lines' })));
    await eventually(async () => (await consumers(server.url)) >= 2, 'both consumers');
    await form(`${server.url}/p/shared`, { policy: 'roundrobin' });
    for (const value of ['a', 'b', 'c', 'd']) await add(server, 'shared', value);
    await eventually(() => streams[0]!.lines.length + streams[1]!.lines.length === 4, 'four messages in all');
    assert.deepEqual([...contentOf(streams[0]!.lines), ...contentOf(streams[1]!.lines)].sort(), ['a', 'b', 'c', 'd'], 'each message to one consumer');
    assert.equal(streams[0]!.lines.length, 2, 'in turn');
    await form(`${server.url}/p/shared`, { policy: 'broadcast' });
    await add(server, 'shared', 'everyone');
    for (const s of streams) await s.waitFor(() => s.lines.length === 3, 'the broadcast message');
    for (const s of streams) s.destroy();
  });

  test('DELETE /q/<queue> empties it for its consumers and ends its comet streams; the feed keeps its entries', { timeout: 20_000 }, async () => {
    await add(server, 'purged', 'a');
    await add(server, 'purged', 'b');
    const comet = await StreamClient.open(`${server.url}/c/purged`, { parse: 'lines' });
    await eventually(async () => (await consumers(server.url)) >= 1, 'the consumer');
    const res = await fetch(`${server.url}/q/purged`, { method: 'DELETE' });
    assert.deepEqual(await res.json(), { queue: 'purged', purged: true });
    await comet.closed;
    assert.equal((JSON.parse(comet.lines.at(-1) as string) as { closing: { code: string } }).closing.code, 'QUEUE_PURGED');
    assert.equal((await take(server, 'purged')).status, 204);
    assert.equal((await readJson(server.feedUrl('purged'), 0)).body.entries.length, 2);
    const key = await add(server, 'purged', 'c');
    assert.equal((await take(server, 'purged')).body?.key, key, 'what is added after the purge is taken');
  });

  test('/stats/ and /stats/<queue>: length, status and policy', async () => {
    await add(server, 'counted', 'a');
    await add(server, 'counted', 'b');
    await take(server, 'counted');
    await form(`${server.url}/p/counted`, { policy: 'roundrobin' });
    assert.deepEqual(await (await fetch(`${server.url}/stats/counted`)).json(), { queue: 'counted', len: 1, status: 'start', policy: 'roundrobin' });
    const all = (await (await fetch(`${server.url}/stats/`)).json()) as { queues: Record<string, { len: number }>; count: number };
    assert.deepEqual(all.queues.counted, { name: 'counted', len: 1, status: 'start', policy: 'roundrobin' });
    assert.equal(all.count, Object.keys(all.queues).length);
  });

  test('a feed file added later takes over the queue: its settings, and its delivery over the policy set by HTTP', async () => {
    await add(server, 'late', 'x');
    await form(`${server.url}/p/late`, { policy: 'roundrobin' });
    server.writeFeed('late', { title: 'Late queue' });
    await eventually(async () => (await (await fetch(`${server.url}/`)).text()).includes('Late queue'), 'the file to be mounted');
    await eventually(async () => ((await (await fetch(`${server.url}/p/late`)).json()) as { value: string }).value === 'broadcast', 'the file\'s policy');
    assert.equal((await readJson(server.feedUrl('late'), 0)).body.feed.title, 'Late queue');
  });

  test('bad input is a 4xx problem naming it, and stores nothing', async () => {
    await add(server, 'strict', 'kept');
    const feed = server.feedUrl('strict');
    const queue = `${server.url}/q/strict`;
    await refusedAt(feed, () => form(queue, {}), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(`${server.url}/`, { value: 'x' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(queue, { value: 'bell\u0007' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(queue, { value: 'x', ttl: 'soon' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => fetch(queue, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"value":"x"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refusedAt(feed, () => form(`${server.url}/queue`, { body: '{"cmd":"add", "queue":' }), 400, 'INVALID_JSON');
    await refusedAt(feed, () => form(`${server.url}/queue`, { body: '{"cmd":"push","queue":"strict","value":"x"}' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(`${server.url}/queue`, { body: '{"cmd":"add","queue":"strict","value":42}' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(`${server.url}/queue`, {}), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(`${server.url}/p/strict`, { policy: 'random' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => form(`${server.url}/control/strict`, { status: 'pause' }), 400, 'INVALID_PARAMETER');
    await refusedAt(feed, () => fetch(`${queue}?value=a`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'value=b' }), 400, 'INVALID_PARAMETER');
    await expectProblem(await form(`${server.url}/q/Not%20A%20Name`, { value: 'x' }), 400, 'INVALID_PARAMETER');
    await expectProblem(await fetch(`${server.url}/q/strict`, { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED');
    assert.equal((await take(server, 'strict')).body?.value, 'kept');
  });
});

describe('RestMQ with --auto-create false', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ known: {} }, { autoCreate: 'false' });
  });
  after(() => server.close());

  test('an unknown queue is a 404 on every route, and is not created; a feed is still a queue', async () => {
    for (const send of [
      () => form(`${server.url}/q/unknown`, { value: 'x' }),
      () => form(`${server.url}/`, { queue: 'unknown', value: 'x' }),
      () => fetch(`${server.url}/q/unknown`),
      () => fetch(`${server.url}/c/unknown`),
      () => fetch(`${server.url}/p/unknown`),
    ]) await expectProblem(await send(), 404, 'FEED_NOT_FOUND');
    assert.doesNotMatch(await (await fetch(`${server.url}/`)).text(), /unknown/);
    assert.match(await add(server, 'known', 'x'), /^known:\d+$/);
  });
});
