/**
 * Retention that never silently skips: a reader behind a sweep is told exactly which seqs it lost,
 * on every read path; a cursor ahead of the database is refused; what a consumer group has not
 * acked survives the sweep; moves (PUT, DELETE) are never taken for losses.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { AtomMQClient, GapError, type FailureContext } from '../src/client/index.js';
import { atommq, EXIT } from './support/cli.js';
import { claim, settle } from './support/groups-http.js';
import { eachStore } from './support/postgres.js';
import { entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';
import { StreamClient } from './support/streams.js';

async function publish(url: string, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) seqs.push(Number((await postAtom(url, entryXml(`m${i}`))).headers.get('xlastid')));
  return seqs;
}

/** The first WebSocket messages, or the close code when the server closes first. */
function webSocketMessages(url: string, count: number): Promise<{ messages: string[]; code?: number }> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      messages.push(data.toString());
      if (messages.length === count) {
        ws.close();
        resolve({ messages });
      }
    });
    ws.once('close', (code) => resolve({ messages, code }));
    ws.once('error', reject);
  });
}

eachStore('retention that tells', (kind) => {
  let server: TestServer;
  let client: AtomMQClient;
  let url: string;
  /** The seqs of feed "r", ten entries of which retention keeps the newest three. */
  let seqs: number[];
  before(async () => {
    server = await startTestServer({
      r: { retention: { maxEntries: 3 } },
      moved: { retention: { maxEntries: 3 } },
      q: { retention: { maxEntries: 1 }, groups: { g: { maxDeliveries: 2 } } },
      unkept: { retention: { maxEntries: 1, keepUnacked: false }, groups: { g: {} } },
      middle: { retention: { maxEntries: 1 }, groups: { g: {} } },
    }, { pruneInterval: '3600' }, kind);
    client = new AtomMQClient(server.url);
    url = server.feedUrl('r');
    seqs = await publish(url, 10);
    await server.sweepRetention();
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test('the cursor view names exactly the seqs removed after the cursor, in a header and in JSON', async () => {
    const gap = { from: seqs[2], to: seqs[6] };
    const atom = await fetch(url, { headers: { Xlastid: String(seqs[1]) } });
    assert.equal(atom.headers.get('atommq-gap'), `${gap.from}-${gap.to}`);
    await atom.body?.cancel();
    const json = await readJson(url, seqs[1] as number);
    assert.deepEqual((json.body as unknown as { gap: unknown }).gap, gap);
    assert.deepEqual(json.body.entries.map((e) => e.seq), seqs.slice(7));
    const waited = await readJson(url, seqs[1] as number, '&wait=5');
    assert.equal(waited.headers.get('atommq-gap'), `${gap.from}-${gap.to}`);
    // Caught up with what was removed, or starting from 0 (whatever is kept): nothing lost.
    for (const cursor of [seqs[6] as number, seqs[8] as number, 0]) {
      const res = await readJson(url, cursor);
      assert.equal(res.headers.get('atommq-gap'), null, `cursor ${cursor}`);
      assert.equal((res.body as unknown as { gap?: unknown }).gap, undefined);
    }
  });

  test('SSE, comet and WebSocket tell the gap before the entries after it', async () => {
    const gapLine = JSON.stringify({ gap: { from: seqs[2], to: seqs[6] } });
    const sse = await StreamClient.open(`${url}?lastid=${seqs[1]}&format=json`, { headers: { Accept: 'text/event-stream' } });
    await sse.waitFor(() => sse.seqs().length === 3, 'the entries after the gap');
    assert.deepEqual(sse.events.map((e) => e.event), ['gap', 'message', 'message', 'message']);
    assert.equal(sse.events[0]?.data, gapLine);
    sse.destroy();

    const comet = await StreamClient.open(`${server.url}/c/r?lastid=${seqs[1]}`, { parse: 'lines' });
    await comet.waitFor(() => comet.seqs().length === 3, 'the comet lines after the gap');
    assert.equal(comet.lines[0], gapLine);
    comet.destroy();

    const ws = await webSocketMessages(`${url.replace('http', 'ws')}/ws?lastid=${seqs[1]}&format=json`, 4);
    assert.equal(ws.messages[0], gapLine);
    assert.equal(ws.messages.length, 4);
  });

  for (const transport of ['longpoll', 'sse'] as const) {
    test(`subscribe over ${transport}: stops with a GapError naming the lost seqs by default; onGap 'continue' reports it and goes on`, async () => {
      const handled: number[] = [];
      const stopped = client.subscribe('r', (e) => { handled.push(e.seq); }, { from: seqs[1], transport });
      await assert.rejects(stopped.done, (error: GapError) =>
        error instanceof GapError && error.code === 'GAP' && error.from === seqs[2] && error.to === seqs[6]);
      assert.equal(handled.length, 0);

      const reported: FailureContext[] = [];
      const going = client.subscribe('r', (e) => { handled.push(e.seq); }, {
        from: seqs[1], transport, onGap: 'continue', onError: (error, context) => { if (error instanceof GapError) reported.push(context); },
      });
      while (handled.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
      await going.stop();
      assert.deepEqual(handled, seqs.slice(7));
      assert.deepEqual(reported.map((c) => c.phase), ['gap']);
    });
  }

  test('atommq tail exits with code 7 on a gap, or says so and goes on with --on-gap continue; atommq read --json shows it', async () => {
    const run = await atommq(['tail', url, '--lastid', String(seqs[1])]);
    assert.equal(run.code, EXIT.lost, run.stderr);
    assert.match(run.stderr, /GAP/);
    const going = await atommq(['tail', url, '--lastid', String(seqs[1]), '--on-gap', 'continue', '--json']);
    assert.equal(going.code, EXIT.ok, going.stderr);
    assert.deepEqual(going.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), seqs.slice(7));
    const read = await atommq(['read', url, '--lastid', String(seqs[1]), '--json']);
    assert.deepEqual((JSON.parse(read.stdout) as { gap: unknown }).gap, { from: seqs[2], to: seqs[6] });
  });

  test('a cursor ahead of the database: 409 on reads, a closing reason on streams, a GapError in subscribe, exit 7 in tail', async () => {
    const ahead = (seqs.at(-1) as number) + 1000;
    const sse = await StreamClient.open(`${url}?lastid=${ahead}`, { headers: { Accept: 'text/event-stream' } });
    await sse.closed;
    const closing = sse.events.find((e) => e.event === 'closing');
    assert.equal((JSON.parse(closing?.data ?? '{}') as { code?: string }).code, 'CURSOR_AHEAD');
    const comet = await StreamClient.open(`${server.url}/c/r?lastid=${ahead}`, { parse: 'lines' });
    await comet.closed;
    assert.equal((JSON.parse(comet.lines.at(-1) ?? '{}') as { closing?: { code?: string } }).closing?.code, 'CURSOR_AHEAD');
    const ws = await webSocketMessages(`${url.replace('http', 'ws')}/ws?lastid=${ahead}`, 1);
    assert.equal(ws.code, 4409);

    for (const transport of ['longpoll', 'sse'] as const) {
      const sub = client.subscribe('r', () => {}, { from: ahead, transport });
      await assert.rejects(sub.done, (error: GapError) => error instanceof GapError && error.code === 'CURSOR_AHEAD' && error.to === ahead);
    }
    const run = await atommq(['tail', url, '--lastid', String(ahead)]);
    assert.equal(run.code, EXIT.lost, run.stderr);
  });

  test('a PUT or DELETE moves an entry to a new seq: a cursor at its old seq is not behind a gap', async () => {
    const moved = server.feedUrl('moved');
    const [s1, s2, s3, s4] = await publish(moved, 5) as [number, number, number, number];
    const key = (await readJson(moved, s3)).body.entries[0]?.key as string;
    const put = await fetch(`${moved}/entries/${key}`, { method: 'PUT', headers: { 'Content-Type': 'application/atom+xml' }, body: entryXml('again') });
    assert.equal(put.status, 200);
    await server.sweepRetention();
    // Rows left: s3, s5 and the PUT's; retention removed s1 and s2, the PUT moved s4.
    for (const cursor of [s3, s4]) assert.equal((await readJson(moved, cursor)).headers.get('atommq-gap'), null, `cursor ${cursor}`);
    assert.equal((await readJson(moved, s1)).headers.get('atommq-gap'), `${s2}-${s2}`);
  });

  test("keepUnacked: a group's leased and waiting entries survive a sweep that removes everything around them; dead ones go", async () => {
    const q = server.feedUrl('q');
    const s = await publish(q, 8);
    const claimed = (await claim(q, 'g', { limit: 8 })).messages;
    const receipt = (seq: number | undefined): string => claimed.find((m) => m.seq === seq)?.receipt as string;
    await settle(q, 'g', 'acks', [0, 2, 3, 6, 7].map((i) => receipt(s[i])));
    await settle(q, 'g', 'nacks', [receipt(s[4])], { delay: 3600 });
    await settle(q, 'g', 'nacks', [receipt(s[5])], { delay: 0 });
    const again = (await claim(q, 'g', { limit: 1 })).messages;
    assert.equal(again[0]?.seq, s[5]);
    await settle(q, 'g', 'nacks', [again[0]?.receipt as string]);
    await server.sweepRetention();
    // s[1] is leased, s[4] waiting; s[5] is dead (two deliveries), so handled.
    const left = await readJson(q, 0);
    assert.deepEqual(left.body.entries.map((e) => e.seq), [s[1], s[4], s[7]]);
    // The range runs from the first seq after the cursor: what inside it was kept is read as usual.
    assert.equal((await readJson(q, s[0] as number)).headers.get('atommq-gap'), `${s[1]}-${s[6]}`);

    // Removed from the middle, with both ends kept: a page's ETag must change all the same.
    const middle = server.feedUrl('middle');
    const m = await publish(middle, 4);
    const leased = (await claim(middle, 'g', { limit: 4 })).messages;
    await settle(middle, 'g', 'acks', leased.filter((l) => l.seq !== m[0]).map((l) => l.receipt));
    const before = await fetch(middle, { headers: { Xlastid: '0' } });
    await before.body?.cancel();
    await server.sweepRetention();
    const after = await fetch(middle, { headers: { Xlastid: '0', 'If-None-Match': before.headers.get('etag') as string } });
    assert.equal(after.status, 200);
    await after.body?.cancel();
    assert.deepEqual((await readJson(middle, 0)).body.entries.map((e) => e.seq), [m[0], m[3]]);

    const unkept = server.feedUrl('unkept');
    const u = await publish(unkept, 3);
    await claim(unkept, 'g', { limit: 1 });
    await server.sweepRetention();
    assert.deepEqual((await readJson(unkept, 0)).body.entries.map((e) => e.seq), [u[2]]);
  });
});
