/**
 * GET /metrics after a known workload: the counters and gauges hold the values the workload
 * implies, and no label carries a cursor, an id or a path beyond its route pattern.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { claim } from './support/groups-http.js';
import { rawConnection } from './support/raw-connection.js';
import { ATOM, entryXml, postAtom, startTestServer, type TestServer } from './support/server.js';
import { eventually, StreamClient } from './support/streams.js';
import { eachStore } from './support/postgres.js';

/** `name{labels} value` lines, by name and label set as the text writes them. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

eachStore('GET /metrics', (kind) => {
  let server: TestServer;
  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  before(async () => {
    server = await startTestServer({ a: {}, b: { retention: { maxEntries: 1 } } }, { pruneInterval: '3600' }, kind);
  });
  after(() => server.close());

  test('counts what a known workload did, per feed, route and status', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await postAtom(server.feedUrl('a'), entryXml(`a${i}`))).status, 201);
    let newestB = '';
    for (let i = 0; i < 2; i++) {
      const res = await postAtom(server.feedUrl('b'), entryXml(`b${i}`));
      assert.equal(res.status, 201);
      newestB = res.headers.get('xlastid') as string;
    }
    assert.equal((await postAtom(server.feedUrl('nope'), entryXml('x'))).status, 404);
    const page = await fetch(`${server.feedUrl('a')}?lastid=0&format=json`);
    const body = await page.text();
    await server.sweepRetention();
    const sse = await StreamClient.open(`${server.feedUrl('a')}?lastid=0`, { headers: { Accept: 'text/event-stream' } });
    await sse.waitFor(() => sse.seqs().length === 3, 'the backlog');
    const held = new AbortController();
    const poll = fetch(`${server.feedUrl('b')}?lastid=${newestB}&wait=30`, { signal: held.signal }).catch(() => undefined);
    await claim(server.feedUrl('a'), 'workers', { limit: 1 });
    await eventually(async () => (await scrape()).get('atommq_long_polls_held') === 1, 'the long-poll to be held');

    const m = await scrape();
    assert.equal(m.get('atommq_published_total{feed="a"}'), 3);
    assert.equal(m.get('atommq_published_total{feed="b"}'), 2);
    assert.ok((m.get('atommq_published_bytes_total{feed="a"}') ?? 0) > 3 * entryXml('a0').length / 2);
    // Three entries on the page, three again in the stream's backlog.
    assert.equal(m.get('atommq_read_entries_total{feed="a"}'), 6);
    assert.ok((m.get('atommq_read_bytes_total{feed="a"}') ?? 0) > 0 && (m.get('atommq_read_bytes_total{feed="a"}') ?? 0) < body.length * 3);
    assert.equal(m.get('atommq_retention_removed_total{feed="b"}'), 1);
    assert.equal(m.get('atommq_http_responses_total{method="POST",route="/feeds/:name",status="201"}'), 5);
    assert.equal(m.get('atommq_http_responses_total{method="POST",route="/feeds/:name",status="404"}'), 1);
    assert.equal(m.get('atommq_http_responses_total{method="GET",route="/feeds/:name",status="200"}'), 1);
    assert.equal(m.get('atommq_streams_open{transport="sse"}'), 1);
    assert.equal(m.get('atommq_streams_open{transport="ws"}'), 0);
    assert.equal(m.get('atommq_group_pending{feed="a",group="workers"}'), 1);
    assert.equal(m.get('atommq_group_lag{feed="a",group="workers"}'), 2);
    assert.equal(m.get('atommq_group_dead{feed="a",group="workers"}'), 0);
    // Five appends, one claim and one prune batch were committed, however they were grouped.
    assert.ok((m.get('atommq_commit_batch_size_sum') ?? 0) >= 7);
    assert.equal(m.get('atommq_commit_seconds_count'), m.get('atommq_commit_batch_size_count'));
    assert.ok(m.has('process_cpu_user_seconds_total'));
    const labels = [...m.keys()].join('\n');
    assert.doesNotMatch(labels, /lastid|urn:uuid|127\.0\.0\.1|nope/);

    held.abort();
    sse.destroy();
    await poll;
  });

  test('a POST whose client leaves halfway through its body counts as the 400 it is', async () => {
    const connection = await rawConnection(server.url);
    // The 100 Continue says the server is reading the body: a connection cut before it carries no request at all.
    connection.socket.write(`POST /feeds/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${ATOM}\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n`);
    await eventually(() => connection.answer().includes('100 Continue'), 'the 100 Continue');
    connection.socket.write('<entry');
    connection.socket.destroy();
    const key = 'atommq_http_responses_total{method="POST",route="/feeds/:name",status="400"}';
    await eventually(async () => (await scrape()).get(key) === 1, 'the aborted POST to be counted');
  });

  test('only GET and HEAD', async () => {
    const res = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(res.status, 405);
  });
});
