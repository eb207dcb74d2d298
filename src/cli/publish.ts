/** `atommq publish <feed>`: publishes one entry, safely retried. */
import { readFile } from 'node:fs/promises';
import type { NewEntry } from '../client/types.js';
import { COMMON_FLAGS, COMMON_HELP, makeClient, out, parse, progress, resolveTarget, UsageError } from './common.js';

export const HELP = `Usage: atommq publish <feed> [--title T] [--content C | --file F] [options]

Publishes one entry. It carries an idempotency key, so the retries after a timeout or a 5xx
never store it twice; give your own with --idempotency-key to make re-running the command safe too.

Options:
  --title T             the entry's title
  --content C           its content
  --file F              read the content from file F ("-": standard input)
  --content-type T      text (default), html, xhtml or a media type; with a JSON media type
                        (application/json) the content is parsed and stored as JSON
  --summary S           a summary
  --slug S              a hint for the entry's URI
  --idempotency-key K   the key that makes retries safe (default: a fresh UUID)
${COMMON_HELP}
Prints the new entry's seq and URI (--json: {created, seq, id, key, location, entry}).
`;

const FLAGS = {
  ...COMMON_FLAGS,
  title: { type: 'string' },
  content: { type: 'string' },
  file: { type: 'string' },
  'content-type': { type: 'string' },
  summary: { type: 'string' },
  slug: { type: 'string' },
  'idempotency-key': { type: 'string' },
} as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function publish(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 1) throw new UsageError(`publish takes one <feed>, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  if (values.content !== undefined && values.file !== undefined) throw new UsageError('give --content or --file, not both');

  let content: unknown = values.content;
  if (values.file !== undefined) {
    try {
      content = values.file === '-' ? await readStdin() : await readFile(values.file, 'utf8');
    } catch (error) {
      throw new UsageError(`--file ${values.file}: ${(error as Error).message}`);
    }
  }
  const contentType = values['content-type'];
  if (typeof content === 'string' && contentType !== undefined && /^application\/([\w.-]+\+)?json\b/i.test(contentType)) {
    try {
      content = JSON.parse(content);
    } catch (error) {
      throw new UsageError(`the content is not JSON, as --content-type ${contentType} says: ${(error as Error).message}`);
    }
  }
  const entry: NewEntry = {
    ...(values.title !== undefined ? { title: values.title } : {}),
    ...(content !== undefined ? { content } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
    ...(values.summary !== undefined ? { summary: values.summary } : {}),
    ...(values.slug !== undefined ? { slug: values.slug } : {}),
    ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
  };

  const client = makeClient(target.server, values, {
    onRetry: ({ error, attempt, delayMs }) => progress(values, `${(error as Error).message}; retry ${attempt} in ${delayMs} ms`),
  });
  try {
    const result = await client.publish(target.feed, entry);
    if (values.json) {
      await out(`${JSON.stringify({ created: result.created, seq: result.seq, id: result.id, key: result.key, location: result.location, entry: result.entry })}\n`);
    } else {
      await out(`${result.created ? 'published' : 'already published'}: seq ${result.seq} ${result.location}\n`);
    }
  } finally {
    await client.close();
  }
}
