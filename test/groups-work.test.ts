/**
 * `atommq work` and `atommq groups` as users run them (child processes against a real server): the
 * command's stdin and environment, exit 0 acking and anything else nacking, SIGTERM finishing the
 * commands in progress; the status table; the example worker; and four workers, two of them
 * SIGKILLed at random moments and restarted while messages keep arriving, losing nothing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AtomMQClient, type GroupStatus } from '../src/client/index.js';
import { atommq, EXIT } from './support/cli.js';
import { CLI, startTestServer, type TestServer } from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EXAMPLE = fileURLToPath(new URL('../../examples/group-worker.mjs', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const KILLS = 8;

/** Kills the command once its stdout has `lines` lines. */
function termAfter(lines: number): (stdout: string, kill: (signal: NodeJS.Signals) => void) => void {
  let sent = false;
  return (stdout, kill) => {
    if (!sent && stdout.split('\n').length > lines) {
      sent = true;
      kill('SIGTERM');
    }
  };
}

describe('atommq work and atommq groups', () => {
  let server: TestServer;
  let client: AtomMQClient;
  const workers: ChildProcess[] = [];
  const publish = async (feed: string, count: number): Promise<Array<{ seq: number; id: string }>> => {
    const out: Array<{ seq: number; id: string }> = [];
    for (let i = 0; i < count; i++) out.push(await client.publish(feed, { title: `${feed} ${i}`, content: { i } }));
    return out;
  };
  const settled = async (feed: string, group: string, last: number): Promise<GroupStatus> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await client.group(feed, group).catch(() => undefined);
      if (status && status.ackFloor >= last && status.pending === 0 && status.waiting === 0) return status;
      assert.ok(Date.now() < deadline, `group ${group} of ${feed} did not ack up to ${last}: ${JSON.stringify(status)}`);
      await sleep(50);
    }
  };
  before(async () => {
    server = await startTestServer({ env: {}, failing: {}, slow: {}, orders: {}, jobs: {} });
    client = new AtomMQClient(server.url);
  });
  after(async () => {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) process.kill(-(worker.pid as number), 'SIGKILL');
    await client.close();
    await server.close();
  });

  test('work: the entry on stdin (Atom XML; --json: its JSON), ATOMMQ_* in the environment, exit 0 acks; SIGTERM exits 0', async () => {
    const published = await publish('env', 2);
    const command = `printf "%s %s %s %s %s\\n" "$ATOMMQ_SEQ" "$ATOMMQ_ID" "$ATOMMQ_FEED" "$ATOMMQ_GROUP" "$ATOMMQ_DELIVERIES"; cat > '${server.dir}'/"in-$ATOMMQ_GROUP-$ATOMMQ_SEQ"`;
    for (const [group, flags] of [['atom', []], ['json', ['--json']]] as const) {
      const run = await atommq(['work', server.feedUrl('env'), '--group', group, '--exec', command, ...flags], { onStdout: termAfter(2) });
      assert.equal(run.code, EXIT.ok, run.stderr);
      assert.deepEqual(run.stdout.trim().split('\n').sort(), published.map((p) => `${p.seq} ${p.id} env ${group} 1`).sort());
      await settled('env', group, published[1]?.seq as number);
      published.forEach(({ seq, id }, i) => {
        const input = readFileSync(join(server.dir, `in-${group}-${seq}`), 'utf8');
        if (group === 'atom') {
          assert.match(input, new RegExp(`^(<\\?xml[^>]*>\\s*)?<entry [^>]*xmlns="http://www.w3.org/2005/Atom"[\\s\\S]*<id>${id}</id>`));
          return;
        }
        const entry = JSON.parse(input) as { seq: number; title: string; receipt: unknown };
        assert.deepEqual([entry.seq, entry.title, typeof entry.receipt], [seq, `env ${i}`, 'string']);
      });
    }
  });

  test('work: a command that exits non-zero nacks its message, which comes back with ATOMMQ_DELIVERIES 2', async () => {
    const { seq } = (await publish('failing', 1))[0] as { seq: number };
    const run = await atommq(['work', server.feedUrl('failing'), '--group', 'g', '--exec', 'echo "$ATOMMQ_SEQ $ATOMMQ_DELIVERIES"; [ "$ATOMMQ_DELIVERIES" -ge 2 ]'],
      { onStdout: termAfter(2) });
    assert.equal(run.code, EXIT.ok, run.stderr);
    assert.equal(run.stdout, `${seq} 1\n${seq} 2\n`);
    assert.match(run.stderr, new RegExp(`seq ${seq} \\(delivery 1\\): the command exited with code 1; nacking it`));
    await settled('failing', 'g', seq);
  });

  test('work: SIGTERM while a command runs lets it finish, acks its message and exits 0', async () => {
    const { seq } = (await publish('slow', 1))[0] as { seq: number };
    const run = await atommq(['work', server.feedUrl('slow'), '--group', 'g', '--concurrency', '2', '--exec', 'echo "start $ATOMMQ_SEQ"; sleep 0.5; echo "done $ATOMMQ_SEQ"'],
      { onStdout: termAfter(1) });
    assert.equal(run.code, EXIT.ok, run.stderr);
    assert.equal(run.stdout, `start ${seq}\ndone ${seq}\n`);
    assert.match(run.stderr, /SIGTERM: stopping after the 1 command\(s\) in progress/);
    await settled('slow', 'g', seq);
  });

  test('groups: a table of the feed\'s groups, --json the status; an unknown group exits 4 with GROUP_NOT_FOUND', async () => {
    const table = await atommq(['groups', server.feedUrl('env')]);
    assert.equal(table.code, EXIT.ok, table.stderr);
    const [header, ...rows] = table.stdout.trim().split('\n');
    assert.match(header as string, /^GROUP\s+POSITION\s+ACK-FLOOR\s+PENDING\s+WAITING\s+LAG\s+DEAD\s+EXPIRED\s+OLDEST\s+LEASE\s+MAX-DELIVERIES$/);
    const status = await client.group('env', 'atom');
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]).sort(), ['atom', 'json']);
    assert.match(rows.find((r) => r.startsWith('atom')) as string, new RegExp(`^atom\\s+${status.position}\\s+${status.ackFloor}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+`));

    const json = await atommq(['groups', 'env', 'atom', '--json', '--server', server.url]);
    assert.equal(json.code, EXIT.ok, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), status);
    const unknown = await atommq(['groups', server.feedUrl('env'), 'nobody']);
    assert.equal(unknown.code, EXIT.refused);
    assert.match(unknown.stderr, /\[GROUP_NOT_FOUND\]/);
    const usage = await atommq(['work', server.feedUrl('env'), '--exec', 'true']);
    assert.equal(usage.code, EXIT.usage, 'work without --group');
  });

  test('examples/group-worker.mjs (the README\'s) handles and acks every order, and stops on SIGTERM', async () => {
    const published: number[] = [];
    for (let orderId = 1; orderId <= 3; orderId++) published.push((await client.publish('orders', { title: `order ${orderId}`, content: { orderId } })).seq);
    assert.ok(readFileSync(README, 'utf8').includes(`\`\`\`js\n${readFileSync(EXAMPLE, 'utf8')}\`\`\``), 'the README shows the example verbatim');
    const child = spawn(process.execPath, [EXAMPLE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ATOMMQ_URL: server.url } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await settled('orders', 'shipping', published[2] as number);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n').sort(), [1, 2, 3].map((n) => `shipping order ${n} (delivery 1)`));
  });

  test('four workers, two SIGKILLed at random moments and restarted while messages arrive: every message acked, redelivered only from killed workers', { timeout: 120_000 }, async (t) => {
    const log = join(server.dir, 'work.log');
    // A line when the command starts and one when it ends, naming the worker process (slot.life).
    const command = `echo "start $WORKER $ATOMMQ_SEQ $ATOMMQ_DELIVERIES" >> '${log}'; sleep 0.05; echo "finish $WORKER $ATOMMQ_SEQ" >> '${log}'`;
    const lines = (): string[][] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')) : []);
    /** Whether worker `tag` has a command running. */
    const running = (tag: string): boolean => {
      const open = new Set<string>();
      for (const [event, by, seq] of lines()) if (by === tag) open[event === 'start' ? 'add' : 'delete'](seq as string);
      return open.size > 0;
    };
    let stderr = '';
    const tags: string[] = [];
    const start = (slot: number, life: number): void => {
      const tag = `${slot}.${life}`;
      const child = spawn(process.execPath, [CLI, 'work', server.feedUrl('jobs'), '--group', 'crew', '--exec', command,
        '--concurrency', '2', '--lease', '3', '--wait', '5'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WORKER: tag } });
      child.stderr?.on('data', (d: Buffer) => { stderr += `[${tag}] ${d.toString()}`; });
      workers[slot] = child;
      tags[slot] = tag;
    };
    for (let slot = 0; slot < 4; slot++) start(slot, 0);

    const published: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        published.push((await client.publish('jobs', { title: 'job' })).seq);
        await sleep(25);
      }
    })();
    const killed = new Set<string>();
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const slot = kill % 2;
        const tag = tags[slot] as string;
        // At a random moment, preferably while the worker runs a command.
        await sleep(100 + Math.random() * 400);
        const busyBy = Date.now() + 2000;
        while (!running(tag) && Date.now() < busyBy) await sleep(5);
        const worker = workers[slot] as ChildProcess;
        const exited = new Promise((r) => worker.once('exit', r));
        // The worker alone (its commands finish as orphans), or its whole process group.
        process.kill(kill % 4 < 2 ? worker.pid as number : -(worker.pid as number), 'SIGKILL');
        await exited;
        killed.add(tag);
        start(slot, kill + 1);
      }
      publishing = false;
      await publisher;
      const status = await settled('jobs', 'crew', published.at(-1) as number);
      assert.equal(status.dead, 0, 'nothing dead-lettered');
      const stopped = workers.map((w) => new Promise<number | null>((r) => w.once('exit', (code) => r(code))));
      for (const worker of workers) worker.kill('SIGTERM');
      assert.deepEqual(await Promise.all(stopped), [0, 0, 0, 0], `a clean stop exits 0:\n${stderr.slice(-2000)}`);
    } finally {
      publishing = false;
      await publisher.catch(() => undefined);
    }

    const runs = new Map<number, string[]>();
    const finished = new Set<number>();
    for (const [event, tag, seq] of lines()) {
      if (event === 'start') runs.set(Number(seq), [...(runs.get(Number(seq)) ?? []), tag as string]);
      else finished.add(Number(seq));
    }
    // A command killed with its worker's process group never finishes: its message must have run again.
    assert.deepEqual(published.filter((seq) => !finished.has(seq)), [], 'every message ran to the end');
    let repeats = 0;
    for (const [seq, by] of runs) {
      for (const tag of by.slice(0, -1)) assert.ok(killed.has(tag), `seq ${seq} ran again after worker ${tag}, never killed, ran it (${by.join(', ')})`);
      repeats += by.length - 1;
    }
    t.diagnostic(`${KILLS} kills, ${published.length} messages, ${repeats} redelivered runs`);
    assert.ok(published.length > 50, `enough traffic (${published.length} messages)`);
    assert.ok(repeats >= 1, 'some kill landed while a command ran');
    assert.ok(repeats <= 2 * KILLS, `${repeats} redeliveries: at most the 2 leases (--concurrency 2) each killed worker held`);
  });
});
