/**
 * `atommq work <feed> --group G --exec CMD`: a competing consumer of a consumer group. Runs CMD for
 * each message it claims, acks the message when CMD exits 0 and nacks it otherwise.
 */
import type { AtomMQClient } from '../client/client.js';
import { HttpError } from '../client/errors.js';
import type { ClaimedMessage } from '../client/group-types.js';
import type { WorkFailure } from '../client/work-options.js';
import { isFeedName, MAX_LIMIT, NAME_RULE } from '../names.js';
import { COMMON_FLAGS, COMMON_HELP, intFlag, makeClient, out, parse, progress, resolveTarget, seconds, secondsFlag, UsageError, type CommonValues } from './common.js';
import { runCommand } from './run-command.js';

export const HELP = `Usage: atommq work <feed> --group G --exec CMD [--concurrency N] [options]

Works the consumer group G of the feed (a group is created by its first claim): claims messages
and runs CMD through the shell for each, up to N at once. A message is acked when CMD exits 0 and
nacked otherwise: delivered again after a backoff, dead-lettered after the group's maxDeliveries.
While CMD runs, its message's lease is extended at half its length.

CMD gets the entry on stdin (its Atom XML document; --json: its JSON) and ATOMMQ_SEQ, ATOMMQ_ID,
ATOMMQ_KEY, ATOMMQ_FEED, ATOMMQ_GROUP and ATOMMQ_DELIVERIES (1 on the first delivery) in its
environment.

Options:
  --group G           the consumer group (required)
  --exec CMD          the command to run for each message (required)
  --concurrency N     commands running at once (default 1)
  --lease S           seconds each message stays leased (default: the group's, 30 unless declared)
  --wait S            seconds a claim waits when nothing is available (default 20)
  --limit N           messages per claim, 1 to 1000 (default: the free slots)
  --json              the entry's JSON on CMD's stdin instead of its Atom XML
${COMMON_HELP}  (work: --retries N bounds the failed claims in a row; default: forever)

SIGINT or SIGTERM stops claiming, lets the running commands finish (their messages are then acked
or nacked) and exits 0; a second one exits at once (those messages are delivered again once their
leases end).
`;

const FLAGS = {
  ...COMMON_FLAGS,
  group: { type: 'string' },
  exec: { type: 'string' },
  concurrency: { type: 'string' },
  lease: { type: 'string' },
  wait: { type: 'string' },
  limit: { type: 'string' },
} as const;

/** What CMD gets on stdin: the entry's Atom XML as it is now, or undefined if it was deleted since. */
async function atomOf(client: AtomMQClient, feed: string, message: ClaimedMessage): Promise<string | undefined> {
  try {
    return await client.entryXml(feed, message.key);
  } catch (error) {
    if (error instanceof HttpError && (error.code === 'ENTRY_GONE' || error.code === 'ENTRY_NOT_FOUND')) return undefined;
    throw error;
  }
}

function describeFailure(values: CommonValues, error: unknown, { phase, message, attempt, delayMs }: WorkFailure): void {
  const why = (error as Error)?.message ?? String(error);
  const seq = message ? `seq ${message.seq} (delivery ${message.deliveries}): ` : '';
  const retry = delayMs !== undefined ? `; retrying in ${seconds(delayMs)}${attempt !== undefined ? ` (attempt ${attempt + 1})` : ''}` : '';
  const what = { claim: 'claiming failed', handler: 'nacking it', ack: 'acking failed', nack: 'nacking failed', extend: 'extending the lease failed' }[phase];
  progress(values, `${seq}${phase === 'handler' ? `${why}; ${what}` : `${what}: ${why}`}${retry}`);
}

export async function work(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 1) throw new UsageError(`work takes one <feed>, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  const group = values.group;
  if (group === undefined) throw new UsageError('missing --group G: the consumer group to work');
  if (!isFeedName(group)) throw new UsageError(`--group "${group}" is not a group name (${NAME_RULE})`);
  const exec = values.exec;
  if (exec === undefined || exec === '') throw new UsageError('missing --exec CMD: the command to run for each message');
  const concurrency = intFlag(values.concurrency, '--concurrency', 1, 10_000) ?? 1;
  const limit = intFlag(values.limit, '--limit', 1, MAX_LIMIT);
  const wait = secondsFlag(values.wait, '--wait');
  const lease = intFlag(values.lease, '--lease', 1, 12 * 3600);

  const client = makeClient(target.server, values);
  const handler = async (message: ClaimedMessage): Promise<void> => {
    const input = values.json ? `${JSON.stringify(message)}\n` : await atomOf(client, target.feed, message);
    if (input === undefined) {
      progress(values, `seq ${message.seq}: deleted since it was claimed; acked without running the command`);
      return;
    }
    await runCommand(exec, input, {
      ATOMMQ_SEQ: String(message.seq),
      ATOMMQ_ID: message.id,
      ATOMMQ_KEY: message.key,
      ATOMMQ_FEED: target.feed,
      ATOMMQ_GROUP: group,
      ATOMMQ_DELIVERIES: String(message.deliveries),
    });
  };
  const worker = client.work(target.feed, group, handler, {
    concurrency,
    reconnect: { retries: intFlag(values.retries, '--retries', 0, 1000) ?? Infinity },
    ...(limit !== undefined ? { limit } : {}),
    ...(wait !== undefined ? { wait } : {}),
    ...(lease !== undefined ? { lease } : {}),
    onError: (error, context) => describeFailure(values, error, context),
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    progress(values, `${signal}: stopping after the ${worker.active} command(s) in progress (send it again to quit at once)`);
    void worker.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  progress(values, `working group ${group} of ${client.baseUrl}/feeds/${target.feed} (concurrency ${concurrency})`);
  try {
    await worker.done;
    const { acked, nacked } = worker.stats;
    progress(values, `stopped: ${acked} acked, ${nacked} nacked`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}
