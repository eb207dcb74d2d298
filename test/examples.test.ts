/**
 * The README's programs and commands, run as a new user runs them: `node examples/*.mjs`, the
 * `atommq` command line and the curl tour, each a real process against a real server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commandsOf, readmeBlocks, ROOT } from './support/readme.js';
import { CLI, ProcessScope, spawnServer, startTestServer, type TestServer } from './support/server.js';
import { eventually } from './support/streams.js';

const EXAMPLES = join(ROOT, 'examples');

interface Running {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

/** Runs a command line through the shell, as a user types it. */
function run(command: string, cwd: string, env: Record<string, string>): Running {
  const child = spawn('sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  return { child, output: () => output, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function runToEnd(command: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const running = run(command, cwd, env);
  const code = await running.exited;
  return { code, output: running.output() };
}

describe('the README shows the examples as they are', () => {
  const blocks = readmeBlocks().filter((b) => b.lang === 'js').map((b) => b.text);
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs'))) {
    test(`examples/${file}`, () => {
      assert.ok(blocks.includes(readFileSync(join(EXAMPLES, file), 'utf8')), `a js block in the README is examples/${file}, verbatim`);
    });
  }

  test('every js block of the README is one of examples/, so every one of them is run below', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));
    for (const block of blocks) assert.ok(files.includes(block), `not in examples/:\n${block}`);
  });
});

describe('examples/*.mjs against a real server', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('publish.mjs publishes; worker.mjs ships each order once, across a server restart, a stop and a crash of its own',
    { timeout: 90_000 }, async () => {
      const args = await scope.serverArgs('atommq-examples-', { orders: {} });
      let server = scope.track(await spawnServer(args));
      const env = { ATOMMQ_URL: server.url };
      const cwd = scope.tempDir('atommq-worker-');
      const publish = async (orderId: number): Promise<number> => {
        const result = await runToEnd(`node ${join(EXAMPLES, 'publish.mjs')} ${orderId}`, cwd, env);
        assert.equal(result.code, 0, result.output);
        const published = new RegExp(`^published: order ${orderId}, seq (\\d+)\\n$`).exec(result.output);
        assert.ok(published, result.output);
        return Number(published[1]);
      };
      const cursor = (): string => (existsSync(join(cwd, 'orders.cursor')) ? readFileSync(join(cwd, 'orders.cursor'), 'utf8') : '');
      const shipped: string[] = [];
      const startWorker = (): Running => run(`exec node ${join(EXAMPLES, 'worker.mjs')}`, cwd, env);
      const ships = async (worker: Running, ...orders: number[]): Promise<void> => {
        const want = orders.map((n) => `shipping order ${n}`);
        await eventually(async () => want.every((line) => worker.output().includes(line)), `${want.join(', ')}: ${worker.output()}`, 30_000);
      };

      await publish(1);
      await publish(2);
      let worker = startWorker();
      await ships(worker, 1, 2);

      server.process.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      server = scope.track(await spawnServer(args));
      await publish(3);
      await ships(worker, 3);

      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, `a stopped worker exits 0: ${worker.output()}`);
      shipped.push(worker.output());
      const fourth = await publish(4);
      worker = startWorker();
      await ships(worker, 4);
      // A crash after the cursor is saved: at-least-once means a crash before it would ship 4 again.
      await eventually(async () => cursor() === `${fourth}\n`, 'the cursor saved after order 4');
      worker.child.kill('SIGKILL');
      await worker.exited;
      shipped.push(worker.output());
      await publish(5);
      worker = startWorker();
      await ships(worker, 5);
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0);
      shipped.push(worker.output());

      const lines = shipped.join('').split('\n').filter((l) => l.startsWith('shipping'));
      assert.deepEqual(lines, [1, 2, 3, 4, 5].map((n) => `shipping order ${n}`), 'each order once, in order');
      assert.match(cursor(), /^\d+\n$/);
    });

  test('websocket.mjs prints each entry of mycoolfeed, the backlog then live ones', { timeout: 30_000 }, async () => {
    const args = await scope.serverArgs('atommq-examples-ws-', { mycoolfeed: {} });
    const server = scope.track(await spawnServer(args));
    const post = async (title: string): Promise<number> => {
      const res = await fetch(`${server.url}/feeds/mycoolfeed`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title }) });
      return Number(res.headers.get('xlastid'));
    };
    const first = await post('allo');
    const client = run(`exec node ${join(EXAMPLES, 'websocket.mjs')}`, scope.tempDir(), { ATOMMQ_URL: server.url });
    await eventually(async () => client.output().includes(`${first} allo\n`), `the backlog: ${client.output()}`);
    const second = await post('live');
    await eventually(async () => client.output().includes(`${second} live\n`), `a live entry: ${client.output()}`);
    client.child.kill('SIGINT');
    await client.exited;
  });
});

describe('the README\'s command lines', () => {
  let server: TestServer;
  let cwd: string;
  let env: Record<string, string>;
  const scope = new ProcessScope();
  before(async () => {
    server = await startTestServer({ orders: {}, mycoolfeed: {} });
    cwd = scope.tempDir('atommq-readme-');
    // As after `npm install -g .`: an `atommq` on the PATH; and the clone's examples/ at hand.
    const bin = join(cwd, 'bin');
    spawnSync('mkdir', [bin]);
    writeFileSync(join(bin, 'atommq'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, 'atommq'), 0o755);
    symlinkSync(EXAMPLES, join(cwd, 'examples'));
    env = { PATH: `${bin}:${process.env.PATH}`, ATOMMQ_URL: server.url };
  });
  after(async () => {
    await server.close();
    await scope.cleanUp();
  });

  const local = (command: string): string => command.replaceAll('http://localhost:8080', server.url);

  test('Command line: each atommq command runs and exits 0; the one-line worker ships every entry', { timeout: 60_000 }, async () => {
    const block = readmeBlocks().find((b) => b.section === 'Command line' && b.lang === 'sh');
    assert.ok(block, 'the README has a command-line block');
    const commands = commandsOf(block);
    assert.ok(commands.some((c) => c.includes('--entry')) && commands.some((c) => c.includes('--follow')));
    for (const command of commands.filter((c) => !c.startsWith('atommq serve') && !c.includes('--follow'))) {
      const result = await runToEnd(local(command), cwd, env);
      assert.equal(result.code, 0, `${command}\n${result.output}`);
    }
    const worker = run(`exec ${local(commands.find((c) => c.includes('--follow')) as string)}`, cwd, env);
    const published = (await (await fetch(`${server.feedUrl('orders')}?format=json`, { headers: { Xlastid: '0' } })).json()) as { entries: unknown[] };
    const shipped = (): string[] => (existsSync(join(cwd, 'shipped.ndjson')) ? readFileSync(join(cwd, 'shipped.ndjson'), 'utf8').split('\n').filter(Boolean) : []);
    await eventually(async () => shipped().length === published.entries.length, `every entry shipped: ${worker.output()}`);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.output());
    assert.deepEqual(shipped().map((line) => (JSON.parse(line) as { title: string }).title).slice(0, 2), ['order 44', 'order 43']);
  });

  const hasCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;

  test('A tour with curl: each command answers 2xx; the streams and the long-poll answer until curl stops them',
    { timeout: 60_000, skip: !hasCurl && 'curl is not installed' }, async () => {
      const block = readmeBlocks().find((b) => b.section === 'A tour with curl' && b.lang === 'sh');
      assert.ok(block, 'the README has the curl tour');
      // A fresh server, as the tour's reader has: its cursors name the seqs the tour's posts get.
      const fresh = await startTestServer({ mycoolfeed: {} });
      try {
        for (const command of commandsOf(block)) {
          assert.match(command, /^curl /);
          // Streams and long-polls run until stopped: curl stops them after 2 s (exit 28) here.
          const endless = / -N |Prefer: wait/.test(command);
          const onFresh = command.replaceAll('http://localhost:8080', fresh.url);
          const result = await runToEnd(`${onFresh.replace(/^curl /, `curl -sS --fail-with-body ${endless ? '--max-time 2 ' : ''}`)}`, cwd, env);
          assert.equal(result.code, endless ? 28 : 0, `${command}\n${result.output}`);
          assert.notEqual(result.output, '', command);
        }
      } finally {
        await fresh.close();
      }
    });
});
