/**
 * The report of `bench:ratios`: for each phase, every round's figures for AtomMQ and the durable
 * floor side by side, the median of the per-round comparisons against the target, and the server's
 * CPU per message; then one summary of the targets.
 */
import type { RunCpu } from './cpu.js';
import { median } from './stats.js';
import { fmtInt, fmtMs, renderTable } from './table.js';

export type Side = 'atommq' | 'floor';
/** The order of each round: AtomMQ, then the floor. */
export const SIDES: readonly Side[] = ['atommq', 'floor'];
export const SIDE_LABEL: Record<Side, string> = { atommq: 'AtomMQ', floor: 'floor' };

/** One measured run against one server. */
export interface RunFigures {
  /** req/s, or a p99 in ms for the latency phases. */
  readonly value: number;
  /** The server's CPU µs per message, as the phase counts messages. */
  readonly cpuUs?: number;
  readonly cpu: RunCpu;
  /** Errors, non-2xx answers, missing events: what makes the run suspect. */
  readonly problems: readonly string[];
}

export type Round = Record<Side, RunFigures>;

/**
 * `min-ratio`: AtomMQ / floor at least `value` (throughput); `max-ratio`: at most (latency);
 * `max-excess-ms`: AtomMQ minus floor at most `value` ms.
 */
export interface Target {
  readonly kind: 'min-ratio' | 'max-ratio' | 'max-excess-ms';
  readonly value: number;
}

export interface PhaseSpec {
  /** Short, for the summary. */
  readonly name: string;
  /** The workload in full, over the phase's table. */
  readonly title: string;
  /** What `value` is, for the column heads: `req/s` or `p99 ms`. */
  readonly metric: 'req/s' | 'p99 ms';
  /** What one message is, for `cpuUs`; no CPU columns without it. */
  readonly cpuUnit?: string;
  readonly target: Target;
}

export interface PhaseOutcome {
  readonly spec: PhaseSpec;
  readonly rounds: Round[];
  /** How the servers ran (fresh, reused), page sizes, figures per entry: lines under the table. */
  readonly notes: string[];
  error?: string;
}

/** A load generator this busy may be what bounds the run, not the server. */
export const LOAD_GENERATOR_BUSY = 90;
/** Other tenants taking this much of a CPU (median over a phase's runs) make it a busy-machine phase. */
const OTHERS_BUSY = 20;

const compare = (target: Target, round: Round): number =>
  target.kind === 'max-excess-ms' ? round.atommq.value - round.floor.value : round.atommq.value / round.floor.value;

const fmtCompare = (target: Target, x: number): string =>
  !Number.isFinite(x) ? 'n/a' : target.kind === 'max-excess-ms' ? `${x >= 0 ? '+' : ''}${x.toFixed(2)} ms` : `${x.toFixed(2)}x`;

function describeTarget(target: Target): string {
  if (target.kind === 'max-excess-ms') return `<= floor + ${target.value} ms`;
  return `${target.kind === 'min-ratio' ? '>=' : '<='} ${target.value}x floor`;
}

/** The median of the per-round comparisons and whether it meets the target. */
export function verdict(outcome: PhaseOutcome): { median: number; pass: boolean | undefined } {
  const { target } = outcome.spec;
  const m = median(outcome.rounds.map((r) => compare(target, r)));
  if (!Number.isFinite(m)) return { median: m, pass: undefined };
  return { median: m, pass: target.kind === 'min-ratio' ? m >= target.value : m <= target.value };
}

const pair = (round: Round, f: (r: RunFigures) => number): string => SIDES.map((s) => fmtInt(f(round[s]))).join(' / ');
const serverPercent = (r: RunFigures): number => (100 * r.cpu.serverS) / r.cpu.elapsedS;
/** What the rest of the machine took of CPU 0 or 1: its busy share less what this run's server (on 0) or load generator (on 1) used. */
const others = (cpu: 0 | 1) => (r: RunFigures): number =>
  Math.max(0, (r.cpu.perCpu[cpu] ?? Number.NaN) - (cpu === 0 ? serverPercent(r) : r.cpu.loadGenerator));

/** Medians of the server's CPU µs per message, AtomMQ's and the floor's. */
export function cpuMedians(outcome: PhaseOutcome): Record<Side, number> {
  const of = (side: Side): number => median(outcome.rounds.map((r) => r[side].cpuUs ?? Number.NaN));
  return { atommq: of('atommq'), floor: of('floor') };
}

/** Lines flagging what makes a phase's figures suspect: a saturated load generator, a busy machine, failed requests. */
function warnings(rounds: readonly Round[]): string[] {
  const out: string[] = [];
  const busy = rounds.flatMap((r) => SIDES.filter((s) => r[s].cpu.loadGenerator >= LOAD_GENERATOR_BUSY));
  if (busy.length > 0) {
    out.push(`! the load generator used ${LOAD_GENERATOR_BUSY}% or more of its CPU in ${busy.length} run(s): ` +
      'there the load generator, not the server, may be the limit');
  }
  const othersOn = (cpu: 0 | 1): number => median(rounds.flatMap((r) => SIDES.map((s) => others(cpu)(r[s]))));
  const [cpu0, cpu1] = [othersOn(0), othersOn(1)];
  if (cpu0 > OTHERS_BUSY || cpu1 > OTHERS_BUSY) {
    out.push(`! busy machine: other tenants took a median ${fmtInt(cpu0)}% of CPU 0 (the servers') and ${fmtInt(cpu1)}% of CPU 1 ` +
      'during these runs; the servers had less than a core, and CPU per message rises too: compare only with runs as busy');
  }
  for (const [i, round] of rounds.entries()) {
    for (const s of SIDES) {
      if (round[s].problems.length > 0) out.push(`! round ${i + 1}, ${SIDE_LABEL[s]}: ${round[s].problems.join('; ')}`);
    }
  }
  return out;
}

export function renderPhase(outcome: PhaseOutcome): string {
  const { spec, rounds } = outcome;
  const fmt = spec.metric === 'req/s' ? fmtInt : fmtMs;
  const cpuHead = spec.cpuUnit ? SIDES.map((s) => `${SIDE_LABEL[s]} µs/${spec.cpuUnit}`) : [];
  const rows = rounds.map((round, i) => [
    String(i + 1),
    ...SIDES.map((s) => fmt(round[s].value)),
    fmtCompare(spec.target, compare(spec.target, round)),
    ...(spec.cpuUnit ? SIDES.map((s) => fmtInt(round[s].cpuUs ?? Number.NaN)) : []),
    pair(round, serverPercent),
    pair(round, (r) => r.cpu.loadGenerator),
    pair(round, others(0)),
    pair(round, others(1)),
  ]);
  const out = [`== ${spec.name}: ${spec.title}`];
  out.push(renderTable(
    ['round', ...SIDES.map((s) => `${SIDE_LABEL[s]} ${spec.metric}`), 'AtomMQ vs floor', ...cpuHead,
      'server CPU %', 'load gen CPU %', 'others CPU0 %', 'others CPU1 %'],
    rows,
  ));
  out.push('(CPU columns: AtomMQ run / floor run; % of one CPU; "others": what else ran on that CPU during the run)');
  const { median: m, pass } = verdict(outcome);
  const result = pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS';
  out.push(`median of the rounds: ${fmtCompare(spec.target, m)}, target ${describeTarget(spec.target)}: ${result}`);
  if (spec.cpuUnit) {
    const cpu = cpuMedians(outcome);
    out.push(`server CPU per ${spec.cpuUnit} (medians): AtomMQ ${fmtInt(cpu.atommq)} µs, floor ${fmtInt(cpu.floor)} µs: ` +
      `${(cpu.atommq / cpu.floor).toFixed(2)}x`);
  }
  out.push(...warnings(rounds));
  out.push(...outcome.notes);
  if (outcome.error) out.push(`! FAILED: ${outcome.error}`);
  return out.join('\n');
}

/** One line per phase: target, median, PASS/MISS, and CPU per message. */
export function renderSummary(outcomes: readonly PhaseOutcome[]): string {
  const rows = outcomes.map((o) => {
    const { median: m, pass } = verdict(o);
    const cpu = o.spec.cpuUnit ? cpuMedians(o) : undefined;
    return [
      o.spec.name,
      describeTarget(o.spec.target),
      fmtCompare(o.spec.target, m),
      o.error ? 'FAILED' : pass === undefined ? 'n/a' : `${pass ? 'PASS' : 'MISS'}${warnings(o.rounds).length > 0 ? '?' : ''}`,
      cpu ? `${fmtInt(cpu.atommq)} / ${fmtInt(cpu.floor)} µs per ${o.spec.cpuUnit}` : '-',
    ];
  });
  return [
    renderTable(['phase', 'target', 'median', 'result', 'server CPU, AtomMQ / floor'], rows),
    '?: the phase has ! lines (a busy machine, a saturated load generator, runs that failed requests or fell behind): read them before the verdict',
  ].join('\n');
}
