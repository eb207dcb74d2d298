/**
 * The `atommq` command line, run as a user runs it: a child process per command, against a real
 * server. Output for humans and `--json`, progress on stderr, and the exit codes scripts rely on.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { atommq, EXIT } from './support/cli.js';
import { CLI, freePort, startTestServer, type JsonEntry, type TestServer } from './support/server.js';

describe('atommq CLI', () => {
  let server: TestServer;
  let feedUrl: string;
  before(async () => {
    server = await startTestServer({ orders: {}, empty: { title: 'Nothing here' } });
    feedUrl = server.feedUrl('orders');
  });
  after(() => server.close());

  test('package.json bin.atommq is the built CLI, and it starts with a shebang', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string>; exports: Record<string, Record<string, string>> };
    assert.equal(pkg.bin.atommq, 'dist/src/cli.js');
    assert.equal(pkg.exports['.']?.import, './dist/src/client/index.js');
    assert.match(readFileSync(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  test('publish: prints the seq and URI; --json prints the stored entry; a repeated --idempotency-key stores nothing', async () => {
    const human = await atommq(['publish', feedUrl, '--title', 'first', '--content', 'hello']);
    assert.equal(human.code, EXIT.ok, human.stderr);
    assert.match(human.stdout, new RegExp(`^published: seq \\d+ ${server.url}/feeds/orders/entries/\\S+\\n$`));

    const json = await atommq(['publish', 'orders', '--server', server.url, '--title', 'order', '--content', '{"orderId":42}',
      '--content-type', 'application/json', '--idempotency-key', 'order-42', '--json']);
    assert.equal(json.code, EXIT.ok, json.stderr);
    const result = JSON.parse(json.stdout) as { created: boolean; seq: number; entry: JsonEntry };
    assert.equal(result.created, true);
    assert.deepEqual(result.entry.content, { orderId: 42 });

    const again = await atommq(['publish', 'orders', '--title', 'order', '--content', '{"orderId":42}', '--content-type', 'application/json',
      '--idempotency-key', 'order-42', '--json'], { env: { ATOMMQ_URL: server.url } });
    assert.equal(again.code, EXIT.ok, again.stderr);
    const repeated = JSON.parse(again.stdout) as { created: boolean; seq: number };
    assert.equal(repeated.created, false);
    assert.equal(repeated.seq, result.seq);
  });

  test('publish --file F and --file - (stdin)', async () => {
    const file = join(server.dir, 'message.txt');
    writeFileSync(file, 'from a file');
    const [fromFile, fromStdin] = await Promise.all([
      atommq(['publish', feedUrl, '--file', file, '--json']),
      atommq(['publish', feedUrl, '--file', '-', '--json'], { input: 'from stdin' }),
    ]);
    assert.equal(fromFile.code, EXIT.ok, fromFile.stderr);
    assert.equal((JSON.parse(fromFile.stdout) as { entry: JsonEntry }).entry.content, 'from a file');
    assert.equal((JSON.parse(fromStdin.stdout) as { entry: JsonEntry }).entry.content, 'from stdin');
  });

  test('read: one line per entry and the next cursor on stderr; --json is the page; --lastid and --limit page through', async () => {
    const page = await atommq(['read', feedUrl, '--json']);
    assert.equal(page.code, EXIT.ok, page.stderr);
    const all = JSON.parse(page.stdout) as { entries: JsonEntry[]; lastId: number; hasMore: boolean };
    assert.ok(all.entries.length >= 4);
    assert.equal(all.lastId, all.entries.at(-1)?.seq);

    const first = all.entries[0] as JsonEntry;
    const human = await atommq(['read', feedUrl, '--limit', '1']);
    assert.equal(human.code, EXIT.ok);
    assert.match(human.stdout, new RegExp(`^${first.seq}  \\S+  first  hello\\n$`));
    assert.match(human.stderr, new RegExp(`next cursor ${first.seq} \\(more: atommq read .* --lastid ${first.seq}\\)`));

    const rest = JSON.parse((await atommq(['read', feedUrl, '--lastid', String(first.seq), '--json'])).stdout) as { entries: JsonEntry[] };
    assert.deepEqual(rest.entries.map((e) => e.seq), all.entries.slice(1).map((e) => e.seq));
    const quiet = await atommq(['read', feedUrl, '--limit', '1', '-q']);
    assert.equal(quiet.stderr, '');
  });

  test('feeds: name, title and URL per line; --json is the list', async () => {
    const [human, listed] = await Promise.all([atommq(['feeds', '--server', server.url]), atommq(['feeds', '--json'], { env: { ATOMMQ_URL: server.url } })]);
    assert.equal(human.code, EXIT.ok, human.stderr);
    assert.equal(human.stdout, `empty\tNothing here\t${server.url}/feeds/empty\norders\torders\t${server.url}/feeds/orders\n`);
    const json = JSON.parse(listed.stdout) as Array<{ name: string }>;
    assert.deepEqual(json.map((f) => f.name), ['empty', 'orders']);
  });

  test('tail: prints what is there and exits 0; --json is one entry per line; --cursor-file resumes after the last one', async () => {
    const cursor = join(server.dir, 'tail.cursor');
    const first = await atommq(['tail', feedUrl, '--cursor-file', cursor, '--json']);
    assert.equal(first.code, EXIT.ok, first.stderr);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonEntry);
    assert.ok(lines.length >= 4);
    assert.equal(readFileSync(cursor, 'utf8'), `${lines.at(-1)?.seq}\n`);

    const nothing = await atommq(['tail', feedUrl, '--cursor-file', cursor]);
    assert.equal(nothing.code, EXIT.ok);
    assert.equal(nothing.stdout, '');
    const posted = await atommq(['publish', feedUrl, '--title', 'one more', '--json']);
    const { seq } = JSON.parse(posted.stdout) as { seq: number };
    const next = await atommq(['tail', feedUrl, '--cursor-file', cursor]);
    assert.match(next.stdout, new RegExp(`^${seq}  \\S+  one more\\n$`));
  });

  test('tail --exec runs the command per entry with the entry on stdin and ATOMMQ_SEQ, ATOMMQ_ID, ATOMMQ_FEED set', async () => {
    const { entries } = JSON.parse((await atommq(['read', feedUrl, '--json'])).stdout) as { entries: JsonEntry[] };
    const run = await atommq(['tail', feedUrl, '--exec', 'printf "%s %s %s " "$ATOMMQ_SEQ" "$ATOMMQ_FEED" "$ATOMMQ_ID"; cat']);
    assert.equal(run.code, EXIT.ok, run.stderr);
    const expected = entries.map((e) => `${e.seq} orders ${e.id} ${JSON.stringify(e)}\n`).join('');
    assert.equal(run.stdout, expected);
  });

  test('tail --exec: a failing command is retried, never skipped; past --max-attempts it exits 6 with the cursor before it', async () => {
    const cursor = join(server.dir, 'failing.cursor');
    const { entries } = JSON.parse((await atommq(['read', feedUrl, '--json', '--limit', '2'])).stdout) as { entries: JsonEntry[] };
    const [ok, bad] = entries as [JsonEntry, JsonEntry];
    // Fails on the second entry every time.
    const run = await atommq(['tail', feedUrl, '--cursor-file', cursor, '--max-attempts', '3',
      '--exec', `echo "$ATOMMQ_SEQ"; test "$ATOMMQ_SEQ" != ${bad.seq}`]);
    assert.equal(run.code, EXIT.commandFailed, run.stderr);
    assert.equal(run.stdout, `${ok.seq}\n${bad.seq}\n${bad.seq}\n${bad.seq}\n`);
    assert.equal(readFileSync(cursor, 'utf8'), `${ok.seq}\n`);
    assert.match(run.stderr, new RegExp(`seq ${bad.seq}: the command exited with code 1; retrying in`));

    // A command that succeeds on its second try: retried, then the worker goes on.
    const flag = join(server.dir, 'flag');
    const retried = await atommq(['tail', feedUrl, '--cursor-file', cursor, '--limit', '1',
      '--exec', `if [ "$ATOMMQ_SEQ" = ${bad.seq} ] && [ ! -e ${flag} ]; then touch ${flag}; exit 3; fi; echo "$ATOMMQ_SEQ"`]);
    assert.equal(retried.code, EXIT.ok, retried.stderr);
    assert.equal(retried.stdout.split('\n')[0], String(bad.seq));
  });

  test('tail --follow waits for new entries; SIGTERM stops it after the entry in progress, exit 0', async () => {
    const cursor = join(server.dir, 'follow.cursor');
    const { lastId } = JSON.parse((await atommq(['read', feedUrl, '--json', '--limit', '1000'])).stdout) as { lastId: number };
    writeFileSync(cursor, `${lastId}\n`);
    // SIGTERM arrives while the command for the new entry runs.
    let signalled = false;
    const worker = atommq(['tail', feedUrl, '--follow', '--cursor-file', cursor, '--exec', 'echo "start $ATOMMQ_SEQ"; sleep 0.3; echo "done $ATOMMQ_SEQ"'], {
      onStdout: (stdout, kill) => {
        if (!signalled && stdout.includes('start')) {
          signalled = true;
          kill('SIGTERM');
        }
      },
    });
    await new Promise((r) => setTimeout(r, 500));
    const posted = JSON.parse((await atommq(['publish', feedUrl, '--title', 'live', '--json'])).stdout) as { seq: number };
    const run = await worker;
    assert.equal(run.code, EXIT.ok, run.stderr);
    assert.equal(run.stdout, `start ${posted.seq}\ndone ${posted.seq}\n`);
    assert.equal(readFileSync(cursor, 'utf8'), `${posted.seq}\n`);
    assert.match(run.stderr, /SIGTERM: stopping after the entry in progress/);
  });

  test('exit codes: 4 for a refused request, 3 for an unreachable server, 2 for bad usage, 1 for a corrupt cursor file', async () => {
    const unknown = await atommq(['read', server.feedUrl('nope')]);
    assert.equal(unknown.code, EXIT.refused);
    assert.match(unknown.stderr, /\[FEED_NOT_FOUND\]/);
    assert.equal(unknown.stdout, '');

    const down = await atommq(['feeds', '--server', `http://127.0.0.1:${await freePort()}`, '--retries', '1']);
    assert.equal(down.code, EXIT.unreachable);
    assert.match(down.stderr, /\[CONNECTION_FAILED\]/);

    const usage = [['frobnicate'], ['read'], ['read', 'Bad Name!'], ['read', feedUrl, '--limit', 'x'], ['read', feedUrl, '--nope'],
      ['publish', feedUrl, '--content', 'a', '--file', 'b'], ['tail', feedUrl, '--transport', 'carrier-pigeon'], ['serve', '--port', 'nope']];
    const runs = await Promise.all(usage.map((args) => atommq(args)));
    runs.forEach((run, i) => {
      assert.equal(run.code, EXIT.usage, `${usage[i]?.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^atommq: /);
    });

    const corrupt = join(server.dir, 'corrupt.cursor');
    writeFileSync(corrupt, 'not a seq');
    const bad = await atommq(['tail', feedUrl, '--cursor-file', corrupt]);
    assert.equal(bad.code, EXIT.failure);
    assert.match(bad.stderr, /\[CURSOR_CORRUPT\]/);
  });

  test('help: atommq --help lists the commands; each command has its own', async () => {
    const [help, tail, serve] = await Promise.all([atommq(['--help']), atommq(['tail', '--help']), atommq(['serve', '--help'])]);
    assert.equal(help.code, EXIT.ok);
    for (const command of ['serve', 'publish', 'read', 'tail', 'work', 'groups', 'feeds']) assert.match(help.stdout, new RegExp(`\\n  ${command}`));
    assert.match(tail.stdout, /--cursor-file F/);
    assert.match(serve.stdout, /^Usage: atommq serve/);
  });
});

describe('atommq publish --entry: a file that is an Atom entry', () => {
  let server: TestServer;
  let feedUrl: string;
  let entryFile: string;
  before(async () => {
    server = await startTestServer({ orders: {} });
    feedUrl = server.feedUrl('orders');
    entryFile = join(server.dir, 'message.xml');
    writeFileSync(entryFile, '<?xml version="1.0"?>\n<entry xmlns="http://www.w3.org/2005/Atom"><title>order 43</title>'
      + '<category term="priority"/><content type="text">two books</content></entry>\n');
  });
  after(() => server.close());

  test('--entry F (and --entry - for stdin) posts the file as the entry: its title, content and categories', async () => {
    const [fromFile, fromStdin] = await Promise.all([
      atommq(['publish', feedUrl, '--entry', entryFile, '--idempotency-key', 'order-43', '--json']),
      atommq(['publish', feedUrl, '--entry', '-', '--json'], { input: readFileSync(entryFile, 'utf8') }),
    ]);
    for (const run of [fromFile, fromStdin]) {
      assert.equal(run.code, EXIT.ok, run.stderr);
      const { entry } = JSON.parse(run.stdout) as { entry: JsonEntry };
      assert.equal(entry.title, 'order 43');
      assert.equal(entry.content, 'two books');
      assert.deepEqual((entry.categories as Array<{ term: string }>).map((c) => c.term), ['priority']);
    }
    const again = await atommq(['publish', feedUrl, '--entry', entryFile, '--idempotency-key', 'order-43', '--json']);
    assert.equal((JSON.parse(again.stdout) as { created: boolean }).created, false, 'the key makes a re-run safe');
  });

  test('--file F of an entry is refused (exit 2, naming --entry), nothing published; with --content-type it is the content', async () => {
    const refused = await atommq(['publish', feedUrl, '--file', entryFile]);
    assert.equal(refused.code, EXIT.usage);
    assert.match(refused.stderr, /--entry/);
    const asContent = await atommq(['publish', feedUrl, '--file', entryFile, '--content-type', 'application/atom+xml', '--json']);
    assert.equal(asContent.code, EXIT.ok, asContent.stderr);
    assert.equal((JSON.parse(asContent.stdout) as { entry: JsonEntry }).entry.title, '', 'a new entry whose content is the file');
    const page = await atommq(['read', feedUrl, '--json']);
    assert.equal((JSON.parse(page.stdout) as { entries: JsonEntry[] }).entries.length, 3, 'the two --entry posts and the one with --content-type');
  });

  test('--entry takes no --title, --content or --file: the document carries its own', async () => {
    const clash = await atommq(['publish', feedUrl, '--entry', entryFile, '--title', 'other']);
    assert.equal(clash.code, EXIT.usage);
    const notAnEntry = await atommq(['publish', feedUrl, '--entry', '-'], { input: '<feed xmlns="http://www.w3.org/2005/Atom"/>' });
    assert.equal(notAnEntry.code, EXIT.refused, 'the server refuses what is not an entry');
    assert.match(notAnEntry.stderr, /INVALID_ATOM/);
  });
});
