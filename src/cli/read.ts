/** `atommq read <feed>`: one page of the cursor view. */
import { MAX_LIMIT } from '../names.js';
import { COMMON_FLAGS, COMMON_HELP, intFlag, makeClient, out, parse, progress, resolveTarget, secondsFlag, UsageError } from './common.js';
import { formatEntry } from './format.js';

export const HELP = `Usage: atommq read <feed> [--lastid N] [--limit N] [--wait S] [options]

Prints one page of the entries after the cursor, oldest first, and the next cursor on stderr.

Options:
  --lastid N        the cursor: entries with a seq greater than N (default 0, the beginning)
  --limit N         entries per page, 1 to 1000 (default: the feed's page size)
  --wait S          when nothing is newer, wait up to S seconds for something to be (long-poll)
${COMMON_HELP}
--json prints {feed, entries, lastId, hasMore} (and gap: {from, to} when retention removed seqs
after the cursor before they were read); lastId is the next cursor.
`;

const FLAGS = { ...COMMON_FLAGS, lastid: { type: 'string' }, limit: { type: 'string' }, wait: { type: 'string' } } as const;

export async function read(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 1) throw new UsageError(`read takes one <feed>, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  const lastId = intFlag(values.lastid, '--lastid') ?? 0;
  const limit = intFlag(values.limit, '--limit', 1, MAX_LIMIT);
  const wait = secondsFlag(values.wait, '--wait');
  const client = makeClient(target.server, values);
  try {
    const page = await client.read(target.feed, { lastId, ...(limit !== undefined ? { limit } : {}), ...(wait !== undefined ? { wait } : {}) });
    if (values.json) {
      await out(`${JSON.stringify(page)}\n`);
    } else {
      await out(page.entries.map((e) => `${formatEntry(e)}\n`).join(''));
      progress(values, `${page.entries.length} entr${page.entries.length === 1 ? 'y' : 'ies'}; next cursor ${page.lastId}` +
        (page.hasMore ? ` (more: atommq read ${positionals[0]} --lastid ${page.lastId})` : ''));
      if (page.gap) progress(values, `retention removed seqs ${page.gap.from} to ${page.gap.to} before they were read`);
    }
  } finally {
    await client.close();
  }
}
