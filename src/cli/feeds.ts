/** `atommq feeds`: the feeds of a server, from its AtomPub service document. */
import { COMMON_FLAGS, COMMON_HELP, makeClient, out, parse, serverUrl, UsageError } from './common.js';

export const HELP = `Usage: atommq feeds [--server URL] [options]

Lists the server's feeds: name, title and URL (--json: [{name, title, url, accept}]).

${COMMON_HELP}`;

export async function feeds(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, COMMON_FLAGS);
  if (values.help) return out(HELP);
  if (positionals.length > 0) throw new UsageError(`feeds takes no arguments (give the server with --server URL), not "${positionals[0]}"`);
  const client = makeClient(serverUrl(values), values);
  try {
    const list = await client.feeds();
    if (values.json) await out(`${JSON.stringify(list)}\n`);
    else await out(list.map((f) => `${f.name}\t${f.title}\t${f.url}\n`).join(''));
  } finally {
    await client.close();
  }
}
