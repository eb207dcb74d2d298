/**
 * `atommq tail <feed>`: a ready polling worker. Prints each entry, or runs a shell command for it,
 * and moves the cursor file only once that succeeded.
 */
import { FileCursorStore, MemoryCursorStore } from '../client/cursor-store.js';
import type { FailureContext } from '../client/subscribe-options.js';
import type { Entry } from '../client/types.js';
import { MAX_LIMIT } from '../names.js';
import { COMMON_FLAGS, COMMON_HELP, intFlag, makeClient, out, parse, progress, resolveTarget, seconds, secondsFlag, UsageError, type CommonValues } from './common.js';
import { formatEntry } from './format.js';
import { runCommand } from './run-command.js';

export const HELP = `Usage: atommq tail <feed> [--follow] [--cursor-file F] [--exec CMD] [options]

Prints the entries after the cursor, oldest first, or runs CMD for each of them.

Options:
  -f, --follow        keep going: wait for new entries instead of stopping once caught up
  --cursor-file F     resume from the seq saved in F, and save each entry's seq there once it
                      was handled (written atomically: temp file, fsync, rename)
  --exec CMD          run CMD through the shell for each entry, one at a time, with the entry's
                      JSON on its stdin and ATOMMQ_SEQ, ATOMMQ_ID, ATOMMQ_KEY, ATOMMQ_FEED and
                      ATOMMQ_DELETED (1 for a deletion, else 0) in its environment. The cursor
                      moves only after CMD exits 0; a failing CMD is retried with backoff, never
                      skipped
  --max-attempts N    give up after CMD failed N times on one entry (exit 6; the cursor stays
                      before that entry). Default: retry forever
  --lastid N|latest   where to start when the cursor file does not exist yet (default 0, the
                      beginning; latest: only entries published from now on)
  --on-gap continue   when the server reports entries lost before they were read (retention
                      removed them, or the cursor is ahead of its database), say so on stderr
                      and go on, instead of stopping with exit code 7 (the default, --on-gap error)
  --transport T       longpoll (default) or sse, with --follow
  --wait S            seconds a long-poll waits per request (default 25)
  --limit N           entries per read, 1 to 1000
${COMMON_HELP}  (tail: --retries N bounds the reconnects in a row; default: forever with --follow, else 5)

Without --exec, entries go to stdout (--json: one JSON object per line). SIGINT or SIGTERM stops
after the entry in progress (its cursor is saved) and exits 0; a second one exits at once.
`;

const FLAGS = {
  ...COMMON_FLAGS,
  follow: { type: 'boolean', short: 'f' },
  'cursor-file': { type: 'string' },
  exec: { type: 'string' },
  'max-attempts': { type: 'string' },
  lastid: { type: 'string' },
  transport: { type: 'string' },
  'on-gap': { type: 'string' },
  wait: { type: 'string' },
  limit: { type: 'string' },
} as const;

/** Runs `command` for one entry: its JSON on stdin, its fields in the environment. */
function runForEntry(command: string, entry: Entry, feed: string): Promise<void> {
  return runCommand(command, `${JSON.stringify(entry)}\n`, {
    ATOMMQ_SEQ: String(entry.seq),
    ATOMMQ_ID: entry.id,
    ATOMMQ_KEY: entry.key,
    ATOMMQ_FEED: feed,
    ATOMMQ_DELETED: entry.deleted ? '1' : '0',
  });
}

function describeFailure(values: CommonValues, error: unknown, context: FailureContext): void {
  if (context.phase === 'gap') {
    progress(values, `${(error as Error).message}; going on (--on-gap continue)`);
    return;
  }
  const what = context.phase === 'handler' ? `seq ${context.entry?.seq}: ${(error as Error).message}`
    : context.phase === 'cursor' ? `saving the cursor failed: ${(error as Error).message}`
    : `${(error as Error).message}`;
  progress(values, `${what}; ${context.phase === 'connection' ? 'reconnecting' : 'retrying'} in ${seconds(context.delayMs)} (attempt ${context.attempt + 1})`);
}

export async function tail(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 1) throw new UsageError(`tail takes one <feed>, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  const maxAttempts = intFlag(values['max-attempts'], '--max-attempts', 1);
  const limit = intFlag(values.limit, '--limit', 1, MAX_LIMIT);
  const wait = secondsFlag(values.wait, '--wait');
  const from = values.lastid === 'latest' ? 'latest' as const : intFlag(values.lastid, '--lastid') ?? 0;
  const transport = values.transport ?? 'longpoll';
  if (transport !== 'longpoll' && transport !== 'sse') throw new UsageError(`--transport must be longpoll or sse, not "${transport}"`);
  const onGap = values['on-gap'] ?? 'error';
  if (onGap !== 'error' && onGap !== 'continue') throw new UsageError(`--on-gap must be error or continue, not "${onGap}"`);
  if (values.exec === '') throw new UsageError('--exec needs a command');
  const cursorFile = values['cursor-file'];
  const store = cursorFile !== undefined ? new FileCursorStore(cursorFile) : new MemoryCursorStore();
  const exec = values.exec;

  const client = makeClient(target.server, values);
  const handler = async (entry: Entry): Promise<void> => {
    if (exec !== undefined) await runForEntry(exec, entry, target.feed);
    else await out(values.json ? `${JSON.stringify(entry)}\n` : `${formatEntry(entry)}\n`);
  };
  // A worker that follows a feed outlives server restarts; a catch-up run gives up like any command.
  const reconnects = intFlag(values.retries, '--retries', 0, 1000) ?? (values.follow ? Infinity : 5);
  const subscription = client.subscribe(target.feed, handler, {
    reconnect: { retries: reconnects },
    cursorStore: store,
    from,
    follow: values.follow ?? false,
    transport,
    onGap,
    ...(limit !== undefined ? { limit } : {}),
    ...(wait !== undefined ? { wait } : {}),
    ...(maxAttempts !== undefined ? { handlerRetry: { retries: maxAttempts - 1 } } : {}),
    onError: (error, context) => describeFailure(values, error, context),
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    progress(values, `${signal}: stopping after the entry in progress (send it again to quit at once)`);
    void subscription.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  progress(values, `${values.follow ? 'following' : 'reading'} ${client.baseUrl}/feeds/${target.feed}` +
    (cursorFile !== undefined ? ` (cursor file ${cursorFile})` : ''));
  try {
    await subscription.done;
    progress(values, `stopped at seq ${subscription.lastId ?? from}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}
