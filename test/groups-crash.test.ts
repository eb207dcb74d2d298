/**
 * Consumer-group state under a crash: a child process claiming and acking as fast as it can is
 * SIGKILLed, several times, then the store is reopened on the same file and drained. A message
 * whose ack was answered is never delivered again; one leased at the kill comes back after its
 * lease; nothing is lost; nothing is acked twice (DESIGN.md section 10, "a consumer that dies
 * loses nothing").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { publish, sleepUntil, StoreScope } from './support/groups.js';

const REF = { feed: 'crash', group: 'workers' };
const MESSAGES = 20_000;
const PUBLISHERS = 40;
const ROUNDS = 3;

/**
 * Four claim loops in one process. Each line is written once what it says is true: `C seq` after
 * the claim committed, `S seq` before the ack is sent, `A seq` after the ack committed.
 */
const consumer = (storeUrl: string): string => `
  import { SqliteStore } from ${JSON.stringify(storeUrl)};
  const store = new SqliteStore({ path: process.argv[2] });
  const ref = ${JSON.stringify(REF)};
  await store.groups.declare(ref, { leaseSeconds: 1 });
  const loop = async () => {
    for (;;) {
      const { messages } = await store.groups.claim({ ...ref, limit: 10 });
      if (messages.length === 0) { await new Promise((r) => setTimeout(r, 20)); continue; }
      process.stdout.write(messages.map((m) => 'C ' + m.seq + '\\nS ' + m.seq + '\\n').join(''));
      const { results } = await store.groups.ack({ ...ref, receipts: messages.map((m) => m.receipt) });
      process.stdout.write(results.filter((r) => r.ok && !r.repeated).map((r) => 'A ' + r.seq + '\\n').join(''));
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);`;

interface Round {
  claimed: Set<number>;
  sent: Set<number>;
  acked: number[];
}

async function runAndKill(path: string, script: string): Promise<Round> {
  const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  const started = Date.now();
  while ((output.match(/^A /gm)?.length ?? 0) < 50 && child.exitCode === null && Date.now() - started < 20_000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, Math.random() * 100));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `the consumer must be killed, not exit: ${output.slice(-500)}`);
  const round: Round = { claimed: new Set(), sent: new Set(), acked: [] };
  for (const line of output.split('\n')) {
    const [kind, seq] = [line[0], Number(line.slice(2))];
    if (kind === 'C') round.claimed.add(seq);
    else if (kind === 'S') round.sent.add(seq);
    else if (kind === 'A') round.acked.push(seq);
  }
  return round;
}

describe('consumer groups across SIGKILL', () => {
  const scope = new StoreScope();
  before(scope.open);
  after(scope.cleanUp);

  test('acked messages are never redelivered, leased ones come back after their lease, nothing is lost', { timeout: 90_000 }, async () => {
    const all = (await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publish(scope.store, REF.feed, MESSAGES / PUBLISHERS, `p${p}-`))))
      .flat().sort((a, b) => a - b);
    await scope.store.close();
    // A file, not `node -e`: the store's writer thread would inherit `--input-type` and refuse to start.
    const script = join(scope.files, 'consumer.mjs');
    writeFileSync(script, consumer(new URL('../src/store/sqlite/sqlite-store.js', import.meta.url).href));

    const acked = new Set<number>();
    /** Acks sent but not confirmed when the process died: each may or may not have committed. */
    const unsure = new Set<number>();
    const everClaimed = new Set<number>();
    for (let round = 1; round <= ROUNDS; round++) {
      const { claimed, sent, acked: confirmed } = await runAndKill(scope.path, script);
      for (const seq of claimed) {
        assert.ok(!acked.has(seq), `round ${round}: seq ${seq} was delivered again after its ack was answered`);
        everClaimed.add(seq);
      }
      for (const seq of confirmed) {
        assert.ok(!acked.has(seq), `round ${round}: seq ${seq} acked twice`);
        acked.add(seq);
      }
      for (const seq of sent) if (!confirmed.includes(seq)) unsure.add(seq);
    }
    assert.ok(acked.size >= ROUNDS * 50 && acked.size < MESSAGES, `the consumers acked ${acked.size} of ${MESSAGES}: the kills must land mid-work`);

    const store = await scope.reopen();
    const drained = new Map<number, number>();
    for (;;) {
      const { messages, nextDue } = await store.groups.claim({ ...REF, limit: 500 });
      for (const m of messages) {
        assert.ok(!acked.has(m.seq), `seq ${m.seq} was delivered again after a restart although its ack was answered`);
        assert.ok(!drained.has(m.seq), `seq ${m.seq} delivered twice while draining`);
        drained.set(m.seq, m.deliveries);
        if (everClaimed.has(m.seq)) assert.ok(m.deliveries >= 2, `seq ${m.seq}, leased at a kill, comes back as a redelivery`);
      }
      if (messages.length) await store.groups.ack({ ...REF, receipts: messages.map((m) => m.receipt) });
      else if (nextDue === undefined) break;
      else await sleepUntil(nextDue);
    }
    const lost = all.filter((seq) => !acked.has(seq) && !drained.has(seq) && !unsure.has(seq));
    assert.deepEqual(lost, [], 'every message is acked by a consumer or delivered after the restart');
    const status = await store.groups.status(REF);
    assert.deepEqual([status.pending, status.waiting, status.dead, status.lag, status.ackFloor], [0, 0, 0, 0, all.at(-1)]);
  });
});
