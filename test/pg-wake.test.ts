/**
 * Wake across servers (DESIGN.md section 13): a long-poll, an SSE stream and a consumer-group claim
 * held on server B are answered when server A commits, by LISTEN/NOTIFY, not by polling the
 * database: the claim held on B is counted, and makes no store write between its first try and
 * the one A's commit wakes. Two app servers on one schema, each with its own store, pool and
 * LISTEN connection, in this process so the test can watch B's store.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAppServer, type AppServer } from './support/app-server.js';
import { claim, GroupWrites, putGroup, sleep } from './support/groups-http.js';
import { eachStore } from './support/postgres.js';
import { entryXml, postAtom } from './support/server.js';
import { consumers, eventually, publishMany, StreamClient } from './support/streams.js';

const FEEDS = { jobs: { maxWait: 20 }, rr: { delivery: 'roundrobin' } };

eachStore('wake across servers', () => {
  let a: AppServer;
  let b: AppServer;
  before(async () => {
    a = await startAppServer(FEEDS, 'postgres');
    b = await startAppServer(FEEDS, 'postgres', a.db);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  test('a long-poll, an SSE stream and a group claim held on B are answered when A commits, with no polling of the database', { timeout: 30_000 }, async () => {
    const onB = b.feedUrl('jobs');
    assert.equal((await putGroup(onB, 'workers', { start: 'latest' })).status, 201);
    const writes = new GroupWrites(b.store);
    const poll = fetch(`${onB}?format=json&wait=20`, { headers: { Xlastid: '0' } }).then(async (res) => ({ status: res.status, body: await res.json() as { entries: Array<{ seq: number }> } }));
    const stream = await StreamClient.open(onB, { headers: { Accept: 'text/event-stream' } });
    const claimed = claim(onB, 'workers', { wait: 20 });
    await eventually(async () => (await consumers(b.url)) >= 3, 'the long-poll, the stream and the claim to be held on B');
    await eventually(() => writes.of('workers') === 1, 'the held claim\'s first try');
    // Held for a while: anything polling the database would show here as another claim.
    await sleep(1500);
    assert.equal(writes.of('workers'), 1, 'a held claim must not poll the store');

    const res = await postAtom(a.feedUrl('jobs'), entryXml('from A'));
    assert.equal(res.status, 201);
    const seq = Number(res.headers.get('xlastid'));

    const polled = await poll;
    assert.deepEqual([polled.status, polled.body.entries.map((e) => e.seq)], [200, [seq]], 'the long-poll on B got A\'s entry');
    await stream.waitFor(() => stream.seqs().includes(seq), 'the SSE stream on B to get A\'s entry');
    stream.destroy();
    const answer = await claimed;
    assert.deepEqual(answer.messages.map((m) => m.seq), [seq], 'the claim on B leased A\'s entry');
    assert.ok(answer.ms < 15_000, `answered when woken, not at the end of its 20 s wait (${answer.ms} ms)`);
    assert.equal(writes.of('workers'), 2, 'one claim more: the one A\'s commit woke');
  });

  test('a round-robin feed hands each message to one stream in all: the ones of the server it was published through', { timeout: 30_000 }, async () => {
    const open = (s: AppServer): Promise<StreamClient> => StreamClient.open(`${s.feedUrl('rr')}?format=json`, { headers: { Accept: 'text/event-stream' } });
    const [onA, onB] = [await open(a), await open(b)];
    await eventually(async () => (await consumers(a.url)) >= 1 && (await consumers(b.url)) >= 1, 'a round-robin stream on each server');
    const [viaA, viaB] = await Promise.all([publishMany(a.feedUrl('rr'), 20, 2), publishMany(b.feedUrl('rr'), 20, 2)]);
    await onA.waitFor(() => onA.seqs().length >= 20, 'A\'s stream to get what was published through A');
    await onB.waitFor(() => onB.seqs().length >= 20, 'B\'s stream to get what was published through B');
    // Anything handed out twice would have arrived by the time B's own commits, read back on A, were.
    await sleep(300);
    onA.destroy();
    onB.destroy();
    assert.deepEqual([onA.seqs(), onB.seqs()], [viaA, viaB]);
  });
}, ['postgres']);
