/** `atommq groups <feed> [group]`: where the consumer groups of a feed stand. */
import type { GroupStatus } from '../client/group-types.js';
import { isFeedName, NAME_RULE } from '../names.js';
import { COMMON_FLAGS, COMMON_HELP, makeClient, out, parse, progress, resolveTarget, UsageError } from './common.js';

export const HELP = `Usage: atommq groups <feed> [group] [options]

Prints the status of the feed's consumer groups, or of one: one row per group with its position
(highest seq handed out), ack floor (every seq up to it is acked), pending (leased now), waiting
(for redelivery), lag (published, not yet delivered), dead (dead-lettered), expired, the age of the
oldest unacked message, its lease and maxDeliveries.

${COMMON_HELP}
--json prints the status objects: a list for the feed, one object for a group.
`;

const COLUMNS: ReadonlyArray<readonly [string, (g: GroupStatus) => string | number]> = [
  ['GROUP', (g) => g.group],
  ['POSITION', (g) => g.position],
  ['ACK-FLOOR', (g) => g.ackFloor],
  ['PENDING', (g) => g.pending],
  ['WAITING', (g) => g.waiting],
  ['LAG', (g) => g.lag],
  ['DEAD', (g) => g.dead],
  ['EXPIRED', (g) => g.expired],
  ['OLDEST', (g) => (g.oldestUnackedSeconds === null ? '-' : `${Math.round(g.oldestUnackedSeconds)}s`)],
  ['LEASE', (g) => `${g.leaseSeconds}s`],
  ['MAX-DELIVERIES', (g) => g.maxDeliveries],
];

/**
 * The groups as an aligned table, a header line first.
 *
 * @example groupTable([status]) // 'GROUP    POSITION  …\nbilling  42        …\n'
 */
export function groupTable(groups: readonly GroupStatus[]): string {
  const rows = [COLUMNS.map(([name]) => name), ...groups.map((g) => COLUMNS.map(([, cell]) => String(cell(g))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => `${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`).join('');
}

export async function groups(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, COMMON_FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 2) throw new UsageError(`groups takes a <feed> and at most one group, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  const group = positionals[1];
  if (group !== undefined && !isFeedName(group)) throw new UsageError(`"${group}" is not a group name (${NAME_RULE})`);
  const client = makeClient(target.server, values);
  try {
    if (group !== undefined) {
      const status = await client.group(target.feed, group);
      await out(values.json ? `${JSON.stringify(status)}\n` : groupTable([status]));
    } else {
      const list = await client.groups(target.feed);
      if (values.json) await out(`${JSON.stringify(list)}\n`);
      else if (list.length > 0) await out(groupTable(list));
      else progress(values, `feed "${target.feed}" has no consumer groups`);
    }
  } finally {
    await client.close();
  }
}
