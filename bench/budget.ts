/**
 * Whether the targets of `npm run bench:ratios` for POST and GET can be met on this stack and
 * machine at all (`npm run bench:budget`).
 *
 * A ratio target leaves AtomMQ a CPU budget per message above the durable floor's (the servers are
 * pinned to one CPU, so req/s is the inverse of CPU per request). This measures the floor and
 * AtomMQ as the ratios bench does, then, alone and through AtomMQ's own code, the work a message
 * costs AtomMQ that the floor does not do: parsing and checking the entry, rendering what is
 * stored, a larger row with its indexes, a page of larger rows read within a byte budget. The floor
 * plus that work is the least AtomMQ could spend; set against the budget, it says whether a target
 * is out of reach before any overhead is counted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveOptions } from '../src/config/server-options.js';
import { DEFAULT_PAGE_BYTES } from './baselines/payloads.js';
import { benchWorkDir, type ChildServer } from './lib/child.js';
import { meterRun } from './lib/cpu.js';
import { benchRevision, parseCost, readCosts, renderCost, writeCosts } from './lib/budget-work.js';
import { runLoad, type LoadSpec } from './lib/load.js';
import { machineSummary } from './lib/machine.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { pinServersAndLoad } from './lib/pinning.js';
import { startAtomMq, startBaseline } from './lib/servers.js';
import { median } from './lib/stats.js';
import { fmtBytes, fmtInt, renderTable } from './lib/table.js';
import { MIN_RATIO, TARGET_LOAD } from './lib/targets.js';
import { PAGE_LIMIT, pageLoad, POST_BODY, postLoad, probePage, seqRange } from './lib/workload.js';

const log = benchLog('budget');

const config = {
  ...TARGET_LOAD,
  rounds: envCount('BUDGET_ROUNDS', 3),
  seconds: envCount('BUDGET_SECONDS', 5),
  /** Writes per commit in the write measurement: what AtomMQ's writer commits at 32 publishers (atommq_commit_batch_size). */
  batch: 28,
  /** The page budget AtomMQ serves with by default (--page-bytes). */
  pageBytes: resolveOptions({}).pageBytes,
};

interface Measured {
  readonly server: ChildServer;
  readonly load: LoadSpec;
}

/** Median CPU µs per request of each server under its load, over interleaved runs (each after 1 s of warm-up, 3 s the first time). */
async function cpuPerRequest(runs: readonly Measured[]): Promise<number[]> {
  const samples = runs.map((): number[] => []);
  for (let round = 0; round < config.rounds; round++) {
    for (const [i, { server, load }] of runs.entries()) {
      await runLoad({ ...load, durationS: round === 0 ? 3 : 1, recordLatency: false });
      const meter = meterRun(server.pid);
      const r = await runLoad({ ...load, durationS: config.seconds, recordLatency: false });
      if (r.non2xx + r.errors > 0) throw new Error(`${server.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      samples[i]?.push((meter().serverS * 1e6) / r.ok);
    }
  }
  return samples.map(median);
}

/** POSTs the bench's entries to `server` (`body` each); its page load, and the size of a page. */
async function seed(server: ChildServer, body: string): Promise<Measured & { pageBytes: number }> {
  const seeded = await runLoad({ ...postLoad(server.baseUrl, 16), body, amount: config.entries, recordLatency: false, timeoutS: 60 });
  if (seeded.ok < config.entries) throw new Error(`${server.name}: seeding stored ${seeded.ok} of ${config.entries} entries`);
  const range = await seqRange(server.baseUrl);
  const page = await probePage(server.baseUrl, range.first - 1 + Math.floor((range.last - range.first - PAGE_LIMIT) / 2));
  return { server, load: pageLoad(server.baseUrl, config.getConnections, range), pageBytes: page.bytes };
}

interface Line {
  readonly what: string;
  readonly us: number;
  readonly sign?: '+' | '=';
}

function budgetTable(title: string, floorUs: number, target: number, work: readonly Line[], atommqUs: number): string {
  const least = floorUs + work.reduce((sum, line) => sum + line.us, 0);
  const allowed = floorUs / target;
  const us = (n: number): string => n.toFixed(1);
  const rows = [
    ['the floor, measured', us(floorUs), ''],
    ...work.map((line) => [`+ ${line.what}`, us(line.us), '']),
    ['= the least AtomMQ can spend', us(least), `${(floorUs / least).toFixed(2)}x the floor at best`],
    [`the target, ${target}x the floor, allows`, us(allowed), least > allowed ? 'out of reach: the work alone exceeds it' : `leaves ${us(allowed - least)} µs for everything else`],
    ['AtomMQ, measured', us(atommqUs), `${(floorUs / atommqUs).toFixed(2)}x the floor; ${us(atommqUs - least)} µs above the least`],
  ];
  return `${title}\n${renderTable(['CPU per request', 'µs', ''], rows)}`;
}

async function main(): Promise<void> {
  const pinning = pinServersAndLoad();
  log(pinning.pinned ? pinning.summary : `WARNING: ${pinning.summary}`);
  const { workDir, cleanUp } = benchWorkDir('atommq-budget-');
  const started: ChildServer[] = [];
  try {
    const atommq = await startAtomMq(workDir, 'atommq');
    const floor = await startBaseline(workDir, 'durable', DEFAULT_PAGE_BYTES, 'floor');
    const atomFloor = await startBaseline(workDir, 'durable', DEFAULT_PAGE_BYTES, 'floor-atom-rows');
    started.push(atommq, floor, atomFloor);
    log('POST: AtomMQ and the floor, interleaved');
    const [postAtomMq = 0, postFloor = 0] = await cpuPerRequest([atommq, floor].map((server) => ({ server, load: postLoad(server.baseUrl, config.postConnections) })));
    log('GET: seeding, then AtomMQ, the floor and the floor holding AtomMQ\'s Atom rows, interleaved');
    const atomRow = benchRevision().revision.xml;
    const pages = [await seed(atommq, POST_BODY), await seed(floor, POST_BODY), await seed(atomFloor, atomRow)];
    const [getAtomMq = 0, getFloor = 0, getAtomFloor = 0] = await cpuPerRequest(pages);
    await Promise.all(started.map((s) => s.stop()));
    started.length = 0;
    await sleep(500);
    log('the work alone, in this process');
    const parse = parseCost();
    const render = renderCost();
    const write = writeCosts(workDir, config.batch);
    const read = readCosts(workDir, config.entries, config.pageBytes);
    const out = [
      'What AtomMQ must spend beyond the durable floor, against the ratio targets (npm run bench:budget)',
      `machine: ${machineSummary()}, Node ${process.version}; ${pinning.summary}`,
      `servers: median of ${config.rounds} interleaved runs of ${config.seconds} s, server CPU (all threads) per request; ` +
        'the work alone: CPU of this process (GC included) per call, median of 7 loops',
      '',
      budgetTable(`POST c=${config.postConnections}, the bench's ~300 B Atom entry`, postFloor, MIN_RATIO.post, [
        { what: 'parse and check the entry (fast-xml-parser, Atom rules)', us: parse },
        { what: 'render its stored forms, Atom and JSON', us: render },
        { what: `write its row rather than the floor's (both forms, 4 indexes; commits of ${config.batch})`, us: write.atommq - write.floor },
      ], postAtomMq),
      `(rows committed: AtomMQ ${write.atommq.toFixed(1)} µs, the floor ${write.floor.toFixed(1)} µs of CPU each, fsync included)`,
      '',
      budgetTable(`GET ${PAGE_LIMIT}-entry cursor page, ${config.getConnections} readers`, getFloor, MIN_RATIO.get, [
        { what: `serve AtomMQ's Atom rows rather than the posted bytes (the floor holding them; page ${fmtBytes(pages[2]?.pageBytes ?? 0)}, not ${fmtBytes(pages[1]?.pageBytes ?? 0)})`, us: getAtomFloor - getFloor },
        { what: 'read them as AtomMQ must: row by row within the byte budget, with seq, deleted and edited, and the feed\'s bounds', us: read.atommq - read.floor },
      ], getAtomMq),
      `(AtomMQ's page: ${fmtBytes(pages[0]?.pageBytes ?? 0)}; page reads alone: AtomMQ ${read.atommq.toFixed(1)} µs, the floor's .all() ${read.floor.toFixed(1)} µs; ` +
        `${fmtInt(config.entries)} entries stored)`,
    ];
    process.stdout.write(`\n${out.join('\n')}\n`);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    cleanUp();
  }
}

runBench(log, main);
