/**
 * The polling worker `atommq tail --follow --cursor-file F --exec CMD`, SIGKILLed at random moments
 * while messages keep arriving and restarted each time, must end up having run CMD for every
 * message, in seq order, repeating only the message in progress at a kill: CMD ran (or was
 * running) but the cursor had not been saved yet. So the log CMD writes, once consecutive repeats
 * are collapsed, is exactly the published seqs, and there are no more repeats than kills.
 *
 * Kills alternate between two kinds. `kill -9` of the worker alone (an operator, the OOM killer):
 * its command, orphaned, finishes on its own, and the test waits for it before restarting the
 * worker, as a supervisor restarting a unit would. And SIGKILL of the worker's whole process group
 * (its container or machine dies): the command dies mid-way too, so a worker that moved its cursor
 * before the command finished would lose that message.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AtomMQClient } from '../src/client/index.js';
import { CLI, freePort, makeFeedsDir, spawnServer, tempDir, type ChildServer } from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const KILLS = 8;

function logged(path: string): number[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

/**
 * Whether a process of the group `pgid` still runs. Zombies do not count: an orphan that finished
 * waits for init to reap it, which some inits (a container's) do only every second or so.
 */
function groupRunning(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** Resolves once nothing of the process group `pgid` runs any more. */
async function groupGone(pgid: number): Promise<void> {
  while (groupRunning(pgid)) await sleep(5);
}

describe('a worker SIGKILLed at random moments while messages keep arriving', () => {
  let dir: string;
  let server: ChildServer | undefined;
  const workers: ChildProcess[] = [];
  after(async () => {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    if (server) {
      server.process.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs its command for every message, in seq order, repeating at most the message in progress at each kill', { timeout: 60_000 }, async (t) => {
    dir = tempDir('atommq-worker-');
    server = await spawnServer({ port: await freePort(), feedsDir: makeFeedsDir(dir, { jobs: {} }), dbPath: join(dir, 'atommq.db') });
    const feedUrl = `${server.url}/feeds/jobs`;
    const log = join(dir, 'ran.log');
    const cursor = join(dir, 'jobs.cursor');
    // Works a little, appends the seq, works a little longer. A kill before the append must not
    // lose the message (the cursor may not have moved yet); a kill after it, before the cursor was
    // saved, must cause exactly one repeat.
    const command = `sleep 0.01 && echo "$ATOMMQ_SEQ" >> '${log}' && sleep 0.01`;
    let stderr = '';
    const startWorker = (): ChildProcess => {
      const worker = spawn(process.execPath, [CLI, 'tail', feedUrl, '--follow', '--cursor-file', cursor, '--exec', command], {
        detached: true, stdio: ['ignore', 'ignore', 'pipe'],
      });
      worker.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
      workers.push(worker);
      return worker;
    };

    const client = new AtomMQClient(server.url);
    const published: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        published.push((await client.publish('jobs', { title: `job ${i}`, content: { job: i } })).seq);
        await sleep(50);
      }
    })();

    let worker = startWorker();
    let kills = 0;
    try {
      for (; kills < KILLS; kills++) {
        // Kill while the worker is at work: once it has run its command for a new message, at a
        // random moment within the next few messages.
        const ranBefore = logged(log).length;
        const waitUntil = Date.now() + 10_000;
        while (logged(log).length === ranBefore) {
          assert.ok(Date.now() < waitUntil, `the restarted worker does not work; it logged:\n${stderr.slice(-2000)}`);
          await sleep(5);
        }
        await sleep(Math.random() * 150);
        const exited = new Promise((r) => worker.once('exit', r));
        process.kill(kills % 2 === 0 ? worker.pid as number : -(worker.pid as number), 'SIGKILL');
        await exited;
        await groupGone(worker.pid as number);
        worker = startWorker();
      }
      publishing = false;
      await publisher;
      const last = published.at(-1) as number;
      const deadline = Date.now() + 20_000;
      while (!logged(log).includes(last) || readFileSync(cursor, 'utf8') !== `${last}\n`) {
        assert.ok(Date.now() < deadline, `the worker did not catch up with seq ${last}; it logged:\n${stderr.slice(-2000)}`);
        await sleep(50);
      }
      const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
      worker.kill('SIGTERM');
      assert.equal(await exited, 0, 'a clean stop exits 0');
    } finally {
      publishing = false;
      await publisher.catch(() => undefined);
      await client.close();
    }

    const ran = logged(log);
    const collapsed = ran.filter((seq, i) => i === 0 || seq !== ran[i - 1]);
    const repeats = ran.length - collapsed.length;
    t.diagnostic(`${kills} kills, ${published.length} messages, ${ran.length} command runs, ${repeats} repeats`);
    assert.ok(published.length > 30, `enough traffic to make the kills land mid-stream (${published.length} messages)`);
    assert.deepEqual(collapsed, published, 'every message ran, in seq order, and nothing but the message in progress ran twice');
    assert.ok(repeats <= kills, `${repeats} repeats for ${kills} kills: at most one per kill`);
    assert.equal(readFileSync(cursor, 'utf8'), `${published.at(-1)}\n`);
  });
});
