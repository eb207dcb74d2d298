/**
 * The soak's verdicts once the load has drained: nothing acknowledged was lost by any reader,
 * the group acked every message exactly once, and the server's resident set stayed flat.
 */
import type { GroupStatus } from '../../src/client/index.js';
import type { Readers } from './soak-load.js';
import type { Row } from './soak-report.js';
import type { ConsumerTally, GroupTally, PublishTally } from './soak-tally.js';
import { fmtInt } from './table.js';

/** What a check found: lines for the summary, and the failures among them. */
export interface Verdict {
  readonly lines: string[];
  readonly failures: string[];
}

const MIB = 1024 * 1024;
/** Seqs named in a report of missing ones; the count says how many there are in all. */
const NAMED = 5;
/** RSS is compared from minute 5 on, to the value at minute 5, within this share. */
export const RSS_FROM_S = 300;
const RSS_TOLERANCE = 0.1;

/** Acknowledged seqs for which `ok(seq)` is false: how many, and the first few. */
function among(publish: PublishTally, ok: (seq: number) => boolean): { count: number; first: number[] } {
  const first: number[] = [];
  let count = 0;
  for (const seq of publish.ackedSeqs()) {
    if (ok(seq)) continue;
    count++;
    if (first.length < NAMED) first.push(seq);
  }
  return { count, first };
}

function named(found: { count: number; first: number[] }): string {
  return `${fmtInt(found.count)}${found.count > 0 ? ` (first: ${found.first.join(', ')})` : ''}`;
}

/** Every acknowledged seq reached the reader, once, and nothing was reported lost. */
function readerCheck(publish: PublishTally, tally: ConsumerTally): Verdict {
  const missing = among(publish, (seq) => tally.seqs.count(seq) > 0);
  const line = `${tally.kind}: received ${fmtInt(tally.latency.total.count)}, missing ${named(missing)}, duplicates ${fmtInt(tally.duplicates)}, `
    + `reconnects ${fmtInt(tally.reconnects)}, gaps/cursor-ahead/ends ${tally.incidents.length}`;
  const failures: string[] = [];
  if (missing.count > 0) failures.push(`${tally.kind} missed ${named(missing)} acknowledged messages`);
  if (tally.duplicates > 0) failures.push(`${tally.kind} was handed ${tally.duplicates} seqs twice`);
  for (const incident of tally.incidents) failures.push(`${tally.kind}: ${incident}`);
  return { lines: [line, ...tally.incidents.map((i) => `  ${i}`)], failures };
}

export function readerChecks(publish: PublishTally, readers: Readers): Verdict[] {
  return [readers.longPoll, readers.sse, readers.ws].map((tally) => readerCheck(publish, tally));
}

/** Every acknowledged seq acked exactly once by the group, and the server's own view agrees. */
export function groupCheck(publish: PublishTally, group: GroupTally, status: GroupStatus): Verdict {
  const never = among(publish, (seq) => group.acks(seq) >= 1);
  const twice = among(publish, (seq) => group.acks(seq) <= 1);
  const redelivered = among(publish, (seq) => group.handled.count(seq) <= 1);
  const lines = [
    `group: acked once ${fmtInt(publish.ackedCount - never.count - twice.count)}, never acked ${named(never)}, acked twice ${named(twice)}, `
      + `redelivered ${named(redelivered)}, acks that failed ${fmtInt(group.ackFailures)}, claim retries ${fmtInt(group.reconnects)}`,
    `group as the server sees it: position ${status.position}, ackFloor ${status.ackFloor}, pending ${status.pending}, `
      + `waiting ${status.waiting}, lag ${status.lag}, dead ${status.dead}`,
    ...group.incidents.map((i) => `  ${i}`),
  ];
  const failures: string[] = [];
  if (never.count > 0) failures.push(`the group never acked ${named(never)} acknowledged messages`);
  if (twice.count > 0) failures.push(`two acks of the same message succeeded for ${named(twice)} messages`);
  const left = status.pending + status.waiting + status.lag + status.dead;
  if (left > 0 || status.ackFloor < publish.acked.highest) {
    failures.push(`the server's group is not done: ackFloor ${status.ackFloor} < ${publish.acked.highest} or ${left} messages pending, waiting, lagging or dead`);
  }
  for (const incident of group.incidents) failures.push(`group: ${incident}`);
  return { lines, failures };
}

/**
 * The server's VmRSS over minutes 5 to the end stays within 10% of its value at minute 5 (the
 * first row at or after it); handles are told beside it. A run without a row after minute 5
 * cannot say, and says so.
 */
export function rssCheck(rows: readonly Row[]): Verdict {
  const from = rows.findIndex((row) => row.at >= RSS_FROM_S - 1);
  const window = from < 0 ? [] : rows.slice(from);
  const base = window[0];
  if (base === undefined || window.length < 2) {
    return {
      lines: [`RSS flatness: skipped, the run has no report after minute 5 to compare with minute 5 (it needs SOAK_SECONDS > ${RSS_FROM_S} + SOAK_REPORT_SECONDS)`],
      failures: [],
    };
  }
  const rss = window.map((row) => row.rss);
  const handles = window.map((row) => row.handles);
  const [min, max] = [Math.min(...rss), Math.max(...rss)];
  const spread = `${((min / base.rss - 1) * 100).toFixed(1)}% to +${((max / base.rss - 1) * 100).toFixed(1)}%`;
  const line = `RSS flatness (server process only, VmRSS): at ${Math.round(base.at / 60)} min ${(base.rss / MIB).toFixed(1)} MiB; from then to the end `
    + `${(min / MIB).toFixed(1)} to ${(max / MIB).toFixed(1)} MiB (${spread}; limit ±${RSS_TOLERANCE * 100}%). `
    + `Open handles: ${base.handles} at minute 5, ${Math.min(...handles)} to ${Math.max(...handles)} since, ${handles.at(-1)} at the end`;
  const flat = max <= base.rss * (1 + RSS_TOLERANCE) && min >= base.rss * (1 - RSS_TOLERANCE);
  return { lines: [line], failures: flat ? [] : [`RSS not flat: ${spread} of minute 5's`] };
}
