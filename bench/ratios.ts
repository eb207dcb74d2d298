/**
 * AtomMQ against the durable floor, comparable from run to run on a shared 2-CPU machine
 * (`npm run bench:ratios`, the first part of `npm run bench`).
 *
 * The servers under test run on CPU 0, this process (the load generator) on CPU 1. Each phase
 * starts a fresh AtomMQ and a fresh floor and measures them in turns, AtomMQ then the floor, round
 * after round, so that a change in what else the machine runs falls on both alike; what counts is
 * the median of the per-round comparisons. Each run also gives the server's CPU time per message
 * (from /proc, all its threads), which moves far less with the machine's load than req/s does.
 * Progress goes to stderr, the report to stdout; the exit code is non-zero only when a phase failed.
 */
import { loadavg } from 'node:os';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PAGE_BYTES } from './baselines/payloads.js';
import { benchWorkDir, type ChildServer } from './lib/child.js';
import { meterRun } from './lib/cpu.js';
import { runLoad, type LoadSpec } from './lib/load.js';
import { measureWakeLatency } from './lib/longpoll.js';
import { autocannonVersion, machineSummary } from './lib/machine.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { pinServersAndLoad, threadAffinity } from './lib/pinning.js';
import { cpuMedians, renderPhase, renderSummary, SIDE_LABEL, SIDES, type PhaseOutcome, type PhaseSpec, type Round, type RunFigures, type Side } from './lib/ratio-report.js';
import { DURABLE_FLOOR_NOTE } from './lib/report.js';
import { ONE_CLIENT_LIMITS, startAtomMq, startBaseline } from './lib/servers.js';
import { collectDelivery, publishAtRate, Subscriber, type Sent } from './lib/sse-fanout.js';
import { fmtBytes, fmtInt, fmtMs } from './lib/table.js';
import { MIN_RATIO, TARGET_LOAD } from './lib/targets.js';
import { feedUrl, PAGE_LIMIT, pageLoad, postLoad, probePage, seqRange } from './lib/workload.js';

const log = benchLog('ratios');

const config = {
  rounds: envCount('RATIO_ROUNDS', 5),
  seconds: envCount('RATIO_SECONDS', 5),
  warmupS: 1,
  /** The first run of each server in a phase warms up longer: a fresh server's first seconds are JIT and heap growth. */
  primeS: 3,
  postConnections: TARGET_LOAD.postConnections,
  getConnections: TARGET_LOAD.getConnections,
  entries: envCount('RATIO_ENTRIES', TARGET_LOAD.entries),
  subscribers: 100,
  rate: 1_000,
  /** A run's p99 is its 10th-worst wake: with 200, the 2nd-worst, which moved by a millisecond from run to run. */
  wakeRounds: envCount('RATIO_WAKE_ROUNDS', 1_000),
};

const PHASES = {
  post: { name: 'POST c=32', title: `POST /feeds/bench, ~300 B Atom entry, ${config.postConnections} connections`, metric: 'req/s', cpuUnit: 'POST', target: { kind: 'min-ratio', value: MIN_RATIO.post } },
  get: { name: 'GET 50-entry page', title: `GET ?limit=${PAGE_LIMIT} after a random Xlastid, ${config.getConnections} connections, ${fmtInt(config.entries)} entries stored`, metric: 'req/s', cpuUnit: 'GET', target: { kind: 'min-ratio', value: MIN_RATIO.get } },
  fanout: { name: 'fan-out p99', title: `${config.subscribers} SSE subscribers, ${fmtInt(config.rate)} msg/s published (open loop), publish-to-receive p99 over every subscriber and message`, metric: 'p99 ms', cpuUnit: 'msg', target: { kind: 'max-ratio', value: 1.5 } },
  wake: { name: 'long-poll wake p99', title: `POST sent -> parked GET ?wait=10 answered, ${config.wakeRounds} sequential rounds a run`, metric: 'p99 ms', target: { kind: 'max-excess-ms', value: 1 } },
} satisfies Record<string, PhaseSpec>;

type Servers = Record<Side, ChildServer>;

/** Unmeasured long-poll rounds per second of warm-up (a round takes some 15 ms). */
const WAKE_WARMUP_PER_S = 20;

/** A fan-out p99 beyond this is a backlog, not a delivery time. */
const FELL_BEHIND_MS = 1_000;

/** Server CPU µs per message over a run that handled `messages`. */
const perMessage = (cpu: RunFigures['cpu'], messages: number): number => (cpu.serverS * 1e6) / messages;

/** One autocannon run after an unmeasured warm-up: req/s and the server's CPU per answer. */
async function loadRun(server: ChildServer, spec: LoadSpec, warmupS: number): Promise<RunFigures> {
  await runLoad({ ...spec, durationS: warmupS, recordLatency: false });
  const meter = meterRun(server.pid);
  const r = await runLoad({ ...spec, durationS: config.seconds, recordLatency: false });
  const cpu = meter();
  const problems = r.non2xx + r.errors > 0 ? [`${fmtInt(r.non2xx)} non-2xx, ${fmtInt(r.errors)} errors`] : [];
  return { value: r.rps, cpuUs: perMessage(cpu, r.ok + r.non2xx), cpu, problems };
}

/** SSE subscribers on one server's feed, kept open over the phase's rounds. */
class FanOutRig {
  readonly feed: string;
  readonly subscribers: Subscriber[];
  readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly server: ChildServer) {
    const port = Number(new URL(server.baseUrl).port);
    this.feed = feedUrl(server.baseUrl);
    this.subscribers = Array.from({ length: config.subscribers }, () => new Subscriber(port, '/feeds/bench?format=json'));
  }

  /** Publishes for `seconds` and waits for every event: p99 and the server's CPU per message published. */
  async run(seconds: number): Promise<RunFigures> {
    const meter = meterRun(this.server.pid);
    const sent: Sent[] = [];
    await publishAtRate(this.feed, this.agent, config.rate, seconds, sent);
    const delivery = await collectDelivery(this.subscribers, sent);
    const cpu = meter();
    const problems = [
      ...delivery.missing > 0 ? [`${fmtInt(delivery.missing)} events missing`] : [],
      // Open loop: a server that cannot keep up builds a backlog, and its p99 is the backlog's age.
      ...delivery.latency.p99 > FELL_BEHIND_MS ? [`fell behind the publisher (p99 over ${FELL_BEHIND_MS / 1000} s): this run's latency is a backlog's`] : [],
    ];
    return { value: delivery.latency.p99, cpuUs: perMessage(cpu, sent.length), cpu, problems };
  }

  close(): void {
    for (const s of this.subscribers) s.close();
    this.agent.destroy();
  }
}

class Ratios {
  readonly outcomes: PhaseOutcome[] = [];

  constructor(private readonly workDir: string) {}

  /** A fresh AtomMQ and a fresh floor for one phase, stopped after it; a failure is reported, not thrown. */
  private async phase(key: keyof typeof PHASES, body: (servers: Servers, outcome: PhaseOutcome) => Promise<void>, atomMqArgs: readonly string[] = []): Promise<void> {
    const outcome: PhaseOutcome = { spec: PHASES[key], rounds: [], notes: [] };
    this.outcomes.push(outcome);
    const started: ChildServer[] = [];
    try {
      const atommq = await startAtomMq(this.workDir, `atommq-${key}`, undefined, atomMqArgs);
      started.push(atommq);
      const floor = await startBaseline(this.workDir, 'durable', DEFAULT_PAGE_BYTES, `floor-${key}`);
      started.push(floor);
      log(`${outcome.spec.name}: AtomMQ pid ${atommq.pid}, floor pid ${floor.pid}`);
      outcome.notes.push(`servers: started fresh for this phase and reused over its rounds; ` +
        `AtomMQ ${threadAffinity(atommq.pid)}; floor ${threadAffinity(floor.pid)}`);
      await body({ atommq, floor }, outcome);
    } catch (err) {
      outcome.error = (err as Error).message.split('\n')[0];
      log(`FAILED ${outcome.spec.name}: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await Promise.all(started.map((s) => s.stop()));
    }
  }

  /** Rounds of one run against each server in turn: A, B, A, B... */
  private async interleave(outcome: PhaseOutcome, servers: Servers, run: (server: ChildServer, side: Side, warmupS: number) => Promise<RunFigures>): Promise<void> {
    const fmt = outcome.spec.metric === 'req/s' ? fmtInt : fmtMs;
    for (let i = 1; i <= config.rounds; i++) {
      const round: Partial<Round> = {};
      for (const side of SIDES) round[side] = await run(servers[side], side, i === 1 ? config.primeS : config.warmupS);
      outcome.rounds.push(round as Round);
      log(`${outcome.spec.name}, round ${i}: ` + SIDES.map((s) => {
        const r = (round as Round)[s];
        return `${SIDE_LABEL[s]} ${fmt(r.value)} ${outcome.spec.metric}${r.cpuUs === undefined ? '' : `, ${fmtInt(r.cpuUs)} µs/${outcome.spec.cpuUnit}`}, load gen ${fmtInt(r.cpu.loadGenerator)}%`;
      }).join('; '));
    }
  }

  post(): Promise<void> {
    return this.phase('post', (servers, outcome) =>
      this.interleave(outcome, servers, (server, _side, warmupS) => loadRun(server, postLoad(server.baseUrl, config.postConnections), warmupS)));
  }

  get(): Promise<void> {
    return this.phase('get', async (servers, outcome) => {
      const loads: Partial<Record<Side, LoadSpec>> = {};
      const sizes: Partial<Record<Side, number>> = {};
      for (const side of SIDES) {
        const { baseUrl, name } = servers[side];
        const seeded = await runLoad({ ...postLoad(baseUrl, 16), amount: config.entries, recordLatency: false, timeoutS: 60 });
        if (seeded.ok < config.entries) throw new Error(`${name}: seeding stored ${seeded.ok} of ${config.entries} entries`);
        const range = await seqRange(baseUrl);
        const page = await probePage(baseUrl, range.first - 1 + Math.floor((range.last - range.first - PAGE_LIMIT) / 2));
        if (page.status !== 200 || page.entries !== PAGE_LIMIT) throw new Error(`${name}: probe page answered ${page.status} with ${page.entries} entries`);
        sizes[side] = page.bytes;
        loads[side] = pageLoad(baseUrl, config.getConnections, range);
      }
      outcome.notes.push(`both seeded with ${fmtInt(config.entries)} entries POSTed before the rounds; a page is ` +
        `${fmtBytes(sizes.atommq ?? 0)} from AtomMQ (50 rendered entries), ${fmtBytes(sizes.floor ?? 0)} from the floor (the 50 stored bodies in a bare <feed>)`);
      await this.interleave(outcome, servers, (server, side, warmupS) => loadRun(server, loads[side] as LoadSpec, warmupS));
      const cpu = cpuMedians(outcome);
      outcome.notes.push(`server CPU per entry served (medians): AtomMQ ${(cpu.atommq / PAGE_LIMIT).toFixed(1)} µs, floor ${(cpu.floor / PAGE_LIMIT).toFixed(1)} µs`);
    });
  }

  fanout(): Promise<void> {
    return this.phase('fanout', async (servers, outcome) => {
      const rigs = { atommq: new FanOutRig(servers.atommq), floor: new FanOutRig(servers.floor) };
      try {
        await Promise.all(SIDES.flatMap((s) => rigs[s].subscribers.map((sub) => sub.ready)));
        await this.interleave(outcome, servers, async (_server, side, warmupS) => {
          await rigs[side].run(warmupS);
          await sleep(200);
          return rigs[side].run(config.seconds);
        });
      } finally {
        for (const s of SIDES) rigs[s].close();
      }
      const cpu = cpuMedians(outcome);
      outcome.notes.push(`server CPU per event delivered (medians, per message over ${config.subscribers} subscribers): ` +
        `AtomMQ ${(cpu.atommq / config.subscribers).toFixed(1)} µs, floor ${(cpu.floor / config.subscribers).toFixed(1)} µs`);
    }, ONE_CLIENT_LIMITS);
  }

  wake(): Promise<void> {
    return this.phase('wake', (servers, outcome) =>
      this.interleave(outcome, servers, async (server, _side, warmupS) => {
        const meter = meterRun(server.pid);
        const w = await measureWakeLatency(server.baseUrl, { iterations: config.wakeRounds, settleMs: 10, warmup: WAKE_WARMUP_PER_S * warmupS });
        const problems = w.early + w.mismatched > 0 ? [`${w.early} answered before the POST, ${w.mismatched} with another entry`] : [];
        return { value: w.latency.p99, cpu: meter(), problems };
      }));
  }
}

function header(pinning: string, loadAtStart: number[], minutes: number): string[] {
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  return [
    'AtomMQ against the durable floor, interleaved rounds (npm run bench:ratios)',
    `machine:   ${machineSummary()}, Node ${process.version}, autocannon ${autocannonVersion()}`,
    `pinning:   ${pinning}`,
    `load avg:  ${load(loadAtStart)} at start, ${load(loadavg())} at the end (1/5/15 min, whole machine); took ${minutes.toFixed(1)} min`,
    `rounds:    ${config.rounds} per phase, AtomMQ then the floor in each; a run is ${config.seconds} s measured after ${config.warmupS} s of warm-up ` +
      `(${config.primeS} s in round 1); long-poll: ${config.wakeRounds} rounds after ${WAKE_WARMUP_PER_S} unmeasured a second of warm-up`,
    'server CPU per message: the server\'s utime+stime over the run (/proc/<pid>/stat, all threads, 10 ms ticks) over the messages it handled',
    '',
    ...DURABLE_FLOOR_NOTE,
    '',
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg();
  const pinning = pinServersAndLoad();
  log(pinning.pinned ? pinning.summary : `WARNING: ${pinning.summary}`);
  const { workDir, cleanUp } = benchWorkDir('atommq-ratios-');
  const ratios = new Ratios(workDir);
  try {
    await ratios.post();
    await ratios.get();
    await ratios.fanout();
    await ratios.wake();
  } finally {
    cleanUp();
  }
  const out = [...header(pinning.summary, loadAtStart, (performance.now() - started) / 60_000)];
  for (const outcome of ratios.outcomes) out.push(renderPhase(outcome), '');
  out.push('Targets (median over the interleaved rounds)', renderSummary(ratios.outcomes));
  process.stdout.write(`\n${out.join('\n')}\n`);
  if (ratios.outcomes.some((o) => o.error !== undefined)) process.exitCode = 1;
}

runBench(log, main);
