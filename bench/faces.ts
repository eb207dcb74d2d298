/**
 * The queue faces under load (`npm run bench:faces`), beside the Atom POST in the same run.
 *
 * An AtomMQ server runs as a child process with its own temp database (fsync durability). With
 * autocannon from this process, at 32 connections each:
 *
 * - Atom: POST of a ~300-byte entry to a feed (the reference).
 * - RestMQ: `POST /q/<queue>` of a ~300-byte value, then `GET /q/<queue>` (a take: a claim of the
 *   group `restmq`, acknowledged once answered) over what the adds stored.
 * - QST v2: `POST /qst/<feed>` of a 100-message JSON batch (~300 bytes of body each, a fresh id per
 *   message), counted in messages per second.
 *
 * Environment: BENCH_FACES_SECONDS (each timed phase, default 6), BENCH_FACES_CONNECTIONS (32).
 * Progress goes to stderr, the report to stdout.
 */
import type autocannon from 'autocannon';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchWorkDir } from './lib/child.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { httpRequest } from './lib/http-client.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { machineSummary } from './lib/machine.js';
import { atomMqBuilt, atomMqPaths, startAtomMq } from './lib/servers.js';
import { fmtInt, fmtMs, fmtRatio, renderTable } from './lib/table.js';
import { postLoad } from './lib/workload.js';

const QUEUE = 'restmq-bench';
const QST_FEED = 'qst-bench';
const BATCH = 100;
const VALUE = 'x'.repeat(300);

const log = benchLog('bench:faces');
const count = envCount;

/** Messages in the queue that no take has had yet, as RestMQ's stats count them. */
async function queueLength(baseUrl: string): Promise<number> {
  const res = await httpRequest(`${baseUrl}/stats/${QUEUE}`, { timeoutMs: 10_000 });
  return (JSON.parse(res.body.toString('utf8')) as { len: number }).len;
}

/** A QST batch whose ids no other batch of the run uses, so that every push stores all of it. */
function qstBatch(n: number): string {
  return JSON.stringify(Array.from({ length: BATCH }, (_, i) => ({
    id: `b${n}-${i}`, from: 'sms://838383', to: 'twitter://foo', subject: 'bench', body: 'x'.repeat(200), priority: i,
  })));
}

function failures(label: string, result: LoadResult): void {
  if (result.non2xx + result.errors + result.timeouts > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
}

function row(label: string, result: LoadResult, unit: string, perRequest = 1): string[] {
  return [label, fmtInt(result.rps), unit === 'req' ? '' : fmtInt(result.rps * perRequest), fmtMs(result.latency?.p50), fmtMs(result.latency?.p99)];
}

async function main(): Promise<void> {
  if (!atomMqBuilt()) throw new Error('AtomMQ is not built: run `npm run build` first');
  const seconds = count('BENCH_FACES_SECONDS', 6);
  const connections = count('BENCH_FACES_CONNECTIONS', 32);
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-faces-');
  const { feedsDir } = atomMqPaths(workDir, 'faces');
  writeFileSync(join(feedsDir, `${QST_FEED}.json`), '{}');
  const server = await startAtomMq(workDir, 'faces');
  log(`started ${server.name} (pid ${server.pid}) at ${server.baseUrl}`);
  try {
    const url = server.baseUrl;
    // Unreported: the first phase would otherwise also pay for the server's warm-up.
    await runLoad({ ...postLoad(url, connections), durationS: 1, recordLatency: false });
    const atom = await runLoad({ ...postLoad(url, connections), durationS: seconds });
    failures('Atom POST', atom);
    log(`Atom POST: ${fmtInt(atom.rps)} req/s`);

    const add = await runLoad({
      url: `${url}/q/${QUEUE}`, method: 'POST', connections, durationS: seconds,
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ value: VALUE }).toString(),
    });
    failures('RestMQ add', add);
    log(`RestMQ POST /q: ${fmtInt(add.rps)} req/s`);

    // Fewer takes than messages, so that every take finds one (an empty queue answers 204, a 2xx too).
    const available = await queueLength(url);
    const take = await runLoad({ url: `${url}/q/${QUEUE}`, method: 'GET', connections, amount: Math.floor(available * 0.9) });
    failures('RestMQ take', take);
    log(`RestMQ GET /q (take): ${fmtInt(take.rps)} req/s over ${fmtInt(take.ok)} takes`);

    let batches = 0;
    const push = await runLoad({
      url: `${url}/qst/${QST_FEED}`, method: 'POST', connections, durationS: seconds,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request: autocannon.Request) => ({ ...request, body: qstBatch(batches++) }),
    });
    failures('QST push', push);
    log(`QST push of ${BATCH}: ${fmtInt(push.rps)} batches/s, ${fmtInt(push.rps * BATCH)} messages/s`);

    process.stdout.write([
      `# Queue faces against a local AtomMQ (${machineSummary()}, Node ${process.version}, fsync durability)`,
      '',
      `${connections} connections, ${seconds} s per timed phase; the takes drain ${fmtInt(take.ok)} of the messages the adds stored.`,
      '',
      renderTable(['load', 'req/s', 'messages/s', 'p50 ms', 'p99 ms'], [
        row('Atom POST /feeds/<feed> (~300 B entry)', atom, 'req'),
        row('RestMQ POST /q/<queue> (300 B value)', add, 'req'),
        row('RestMQ GET /q/<queue> (take + ack)', take, 'req'),
        row(`QST POST /qst/<feed> (${BATCH}-message JSON batch)`, push, 'msg', BATCH),
      ]),
      '',
      `QST batch messages/s over Atom POST messages/s: ${fmtRatio(push.rps * BATCH, atom.rps)} (target: at least 10x)`,
      '',
    ].join('\n'));
  } finally {
    await server.stop();
    cleanUp();
  }
}

runBench(log, main);
