/**
 * What the server's log tells a person: a start-up line with the addresses it really listens on
 * and the feeds it serves, an access line per request with its request id, stream openings, ISO
 * times; JSON lines when stdout is not a terminal, pino-pretty's lines when it is.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, ProcessScope, spawnServer, type ChildServer } from './support/server.js';
import { eventually } from './support/streams.js';

interface LogLine {
  level: number;
  time: string;
  msg: string;
  [field: string]: unknown;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function lines(server: ChildServer): LogLine[] {
  return server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

describe('server logs', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('JSON lines off a terminal: ISO times, the real addresses and the feeds in the start-up line', async () => {
    const args = await scope.serverArgs('atommq-log-', { orders: {}, audit: {} });
    const server = scope.track(await spawnServer({ ...args, extra: ['--log-level', 'info'] }));
    const start = lines(server).find((l) => l.msg.startsWith('AtomMQ listening'));
    assert.ok(start, server.output());
    assert.match(start.time, ISO_TIME);
    assert.deepEqual(start.urls, [`http://127.0.0.1:${args.port}`]);
    assert.deepEqual(start.feeds, ['audit', 'orders']);
    assert.match(start.msg, new RegExp(`http://127\\.0\\.0\\.1:${args.port}.*audit, orders`));
  });

  test('on every interface, the start-up line lists the interfaces\' addresses, loopback included, not one made-up URL', async () => {
    const args = await scope.serverArgs('atommq-log-any-', { orders: {} });
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(args.port), '--feeds', args.feedsDir,
      '--db', `sqlite:${args.dbPath}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => output.includes('AtomMQ listening'), 'the start-up line');
      const start = JSON.parse(output.split('\n').find((l) => l.includes('AtomMQ listening')) as string) as LogLine;
      assert.ok((start.urls as string[]).includes(`http://127.0.0.1:${args.port}`), output);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('an access line per request, with the request id it answered in X-Request-Id; streams log their opening', async () => {
    const args = await scope.serverArgs('atommq-log-access-', { orders: {} });
    const server = scope.track(await spawnServer({ ...args, extra: ['--log-level', 'info'] }));
    const given = await fetch(`${server.url}/feeds/orders?format=json`, { headers: { 'X-Request-Id': 'trace-42' } });
    assert.equal(given.headers.get('x-request-id'), 'trace-42');
    const body = await given.text();
    // Not a valid id (a space and a quote): replaced by one of the server's.
    const made = await fetch(`${server.url}/feeds/nothing`, { headers: { 'X-Request-Id': 'bad "id"' } });
    const madeId = made.headers.get('x-request-id') ?? '';
    assert.match(madeId, /^[0-9a-f-]{36}$/);
    await made.text();
    const stream = await fetch(`${server.url}/c/orders`, { headers: { 'X-Request-Id': 'stream-7' } });
    assert.equal(stream.headers.get('x-request-id'), 'stream-7');
    await eventually(async () => lines(server).some((l) => l.reqId === 'stream-7'), 'the stream\'s opening in the log');
    await stream.body?.cancel();

    const access = (id: string): LogLine | undefined => lines(server).find((l) => l.reqId === id && l.ms !== undefined);
    await eventually(async () => access('stream-7') !== undefined, 'the stream\'s access line once it ended');
    const log = lines(server);
    const ok = access('trace-42');
    assert.ok(ok, server.output());
    assert.equal(ok.level, 30, 'info');
    assert.match(ok.time, ISO_TIME);
    assert.deepEqual([ok.method, ok.path, ok.status], ['GET', '/feeds/orders?format=json', 200]);
    assert.ok(typeof ok.ms === 'number' && ok.ms >= 0);
    assert.ok(typeof ok.bytes === 'number' && ok.bytes > Buffer.byteLength(body), 'bytes sent, headers included');

    const notFound = log.filter((l) => l.reqId === madeId);
    assert.deepEqual(notFound.map((l) => l.code ?? l.status), ['FEED_NOT_FOUND', 404], 'the error line names the request too');
    assert.ok(log.some((l) => l.reqId === 'stream-7' && l.feed === 'orders' && /stream opened/.test(l.msg)));
  });

  test('--log-level warn silences the access log', async () => {
    const args = await scope.serverArgs('atommq-log-warn-', { orders: {} });
    const server = scope.track(await spawnServer(args));
    await (await fetch(`${server.url}/feeds/orders`)).text();
    await (await fetch(`${server.url}/feeds/nothing`)).text();
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.deepEqual(lines(server).filter((l) => l.level < 40), []);
  });

  test('--access-log FILE: the access lines go to the file as JSON, whatever the log level; off: nowhere', async () => {
    const args = await scope.serverArgs('atommq-log-file-', { orders: {} });
    const file = join(args.feedsDir, '..', 'logs', 'access.log');
    const server = scope.track(await spawnServer({ ...args, extra: ['--log-level', 'warn', '--access-log', file] }));
    await (await fetch(`${server.url}/feeds/orders`, { headers: { 'X-Request-Id': 'to-file' } })).text();
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    const written = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    // The start-up's readiness probe (GET /healthz) is there too.
    const line = written.find((l) => l.reqId === 'to-file');
    assert.deepEqual([line?.path, line?.status], ['/feeds/orders', 200]);
    assert.match(line?.time as string, ISO_TIME);
    assert.deepEqual(lines(server).filter((l) => l.reqId !== undefined), []);

    const off = scope.track(await spawnServer({ ...args, extra: ['--log-level', 'info', '--access-log', 'off'] }));
    await (await fetch(`${off.url}/feeds/orders`, { headers: { 'X-Request-Id': 'nowhere' } })).text();
    off.process.kill('SIGTERM');
    assert.equal(await off.exited, 0);
    assert.ok(lines(off).some((l) => l.msg.startsWith('AtomMQ listening')));
    assert.deepEqual(lines(off).filter((l) => l.reqId === 'nowhere'), []);
  });

  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

  test('on a terminal: pino-pretty\'s lines, with ISO times', { skip: !hasScript && 'util-linux\'s script(1) is not installed', timeout: 30_000 }, async () => {
    const args = await scope.serverArgs('atommq-log-tty-', { orders: {} });
    // script(1) gives the server a pseudo-terminal for its stdout, as `npm start` in a terminal has.
    const command = [process.execPath, CLI, 'serve', '--port', String(args.port), '--host', '127.0.0.1',
      '--feeds', args.feedsDir, '--db', `sqlite:${args.dbPath}`].map((w) => `'${w}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => output.includes('AtomMQ listening'), 'the start-up line on the terminal');
      // Answering means start-up is over, signal handlers included.
      assert.ok((await fetch(`http://127.0.0.1:${args.port}/healthz`)).ok);
      // Its access line must have been read off the terminal first: the interrupt character makes the
      // terminal discard the output it still holds (termios(3), NOFLSH unset), under load a line or two.
      await eventually(async () => output.includes('GET /healthz'), 'the access line on the terminal');
      // Ctrl-C on the terminal: SIGINT to the server, as a person stops it.
      child.stdin.write('\x03');
      await eventually(async () => output.includes('stopped'), 'the graceful shutdown on the terminal');
    } finally {
      child.stdin.end();
      await exited;
    }
    // eslint-disable-next-line no-control-regex
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
    const start = plain.split(/\r?\n/).find((l) => l.includes('AtomMQ listening')) ?? '';
    assert.match(start, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: AtomMQ listening on http:\/\/127\.0\.0\.1:\d+, serving feeds orders/, plain);
    assert.doesNotMatch(plain, /^\{"level"/m, 'no JSON lines');
    const access = plain.split(/\r?\n/).find((l) => l.includes('GET /healthz')) ?? '';
    assert.match(access, /INFO: GET \/healthz 200 [\d.]+ ms \{"reqId":"[^"]+","bytes":\d+\}$/, 'what the message says is not repeated');
  });
});
