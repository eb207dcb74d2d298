/** `atommq publish <feed>`: publishes one entry, safely retried. */
import { readFile } from 'node:fs/promises';
import type { NewEntry } from '../client/types.js';
import { COMMON_FLAGS, COMMON_HELP, makeClient, out, parse, progress, resolveTarget, UsageError } from './common.js';

export const HELP = `Usage: atommq publish <feed> [--title T] [--content C | --file F] [options]
       atommq publish <feed> --entry F [options]

Publishes one entry. It carries an idempotency key, so the retries after a timeout or a 5xx
never store it twice; give your own with --idempotency-key to make re-running the command safe too.

Options:
  --entry F             file F ("-": standard input) is an Atom entry (<entry xmlns=
                        "http://www.w3.org/2005/Atom">...</entry>): publish it as it is
  --title T             the entry's title
  --content C           its content
  --file F              read the content from file F ("-": standard input); a file that is an
                        Atom entry is refused (use --entry) unless --content-type is given
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
  entry: { type: 'string' },
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

async function readInput(flag: string, file: string): Promise<string> {
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
}

/** Whether a text's root element is an `entry`, after any XML declaration, comments or BOM. */
function isEntryDocument(text: string): boolean {
  return /^\uFEFF?\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<([\w.-]+:)?entry[\s>/]/.test(text);
}

type Values = ReturnType<typeof parse<typeof FLAGS>>['values'];

/** The fields an --entry document carries itself, and so cannot be given beside it. */
const ENTRY_FIELDS = ['title', 'content', 'file', 'content-type', 'summary'] as const;

export async function publish(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 1) throw new UsageError(`publish takes one <feed>, not ${positionals.length} arguments`);
  const target = resolveTarget(positionals[0], values);
  const xml = values.entry === undefined ? undefined : await entryDocument(values.entry, values);
  const entry = xml === undefined ? await newEntry(values) : undefined;
  const client = makeClient(target.server, values, {
    onRetry: ({ error, attempt, delayMs }) => progress(values, `${(error as Error).message}; retry ${attempt} in ${delayMs} ms`),
  });
  try {
    const result = entry !== undefined
      ? await client.publish(target.feed, entry)
      : await client.publishAtom(target.feed, xml as string, {
        ...(values.slug !== undefined ? { slug: values.slug } : {}),
        ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
      });
    if (values.json) {
      await out(`${JSON.stringify({ created: result.created, seq: result.seq, id: result.id, key: result.key, location: result.location, entry: result.entry })}\n`);
    } else {
      await out(`${result.created ? 'published' : 'already published'}: seq ${result.seq} ${result.location}\n`);
    }
  } finally {
    await client.close();
  }
}

async function entryDocument(file: string, values: Values): Promise<string> {
  const clash = ENTRY_FIELDS.find((flag) => values[flag] !== undefined);
  if (clash) throw new UsageError(`--entry publishes the file as the entry it is: it takes no --${clash}`);
  // The server checks the document and answers a bad one with a 400 that says what is wrong.
  return readInput('--entry', file);
}

/** The entry the flags describe (--title, --content or --file, ...). */
async function newEntry(values: Values): Promise<NewEntry> {
  if (values.content !== undefined && values.file !== undefined) throw new UsageError('give --content or --file, not both');
  const contentType = values['content-type'];
  let content: unknown = values.content;
  if (values.file !== undefined) {
    content = await readInput('--file', values.file);
    // Without this, an entry document would be stored as the text of a new, untitled entry.
    if (contentType === undefined && isEntryDocument(content as string)) {
      throw new UsageError(`--file ${values.file} is an Atom entry: publish it as the entry with --entry ${values.file}, `
        + 'or give --content-type to publish it as the content of a new entry');
    }
  }
  if (typeof content === 'string' && contentType !== undefined && /^application\/([\w.-]+\+)?json\b/i.test(contentType)) {
    try {
      content = JSON.parse(content);
    } catch (error) {
      throw new UsageError(`the content is not JSON, as --content-type ${contentType} says: ${(error as Error).message}`);
    }
  }
  return {
    ...(values.title !== undefined ? { title: values.title } : {}),
    ...(content !== undefined ? { content } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
    ...(values.summary !== undefined ? { summary: values.summary } : {}),
    ...(values.slug !== undefined ? { slug: values.slug } : {}),
    ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
  };
}
