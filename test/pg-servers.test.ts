/**
 * Several AtomMQ servers on one PostgreSQL database make one bus (DESIGN.md section 13): two
 * server processes, started at once on an empty database; publishers spread over both; cursor
 * readers on both, by long-poll and by SSE, each see every acknowledged message exactly once, in
 * seq order; claimers spread over both never hold two leases on one message.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, CursorReader, publishWithRetries, type Acknowledged } from './support/cluster.js';
import { claimers } from './support/claimers.js';
import { eachStore } from './support/postgres.js';
import { describeSeqs } from './support/streams.js';

const PUBLISHERS = 4;
const PER_PUBLISHER = 1250;

eachStore('two servers on one database', () => {
  const cluster = new Cluster({ bus: { maxWait: 5 }, jobs: { maxWait: 5 } });
  before(() => cluster.start(2));
  after(cluster.cleanUp);

  test('both came up at once on the empty database, which was migrated once', async () => {
    for (const server of cluster.servers) assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.deepEqual(await cluster.rows(`SELECT version FROM ${cluster.schema!.name}.atommq_schema ORDER BY version`), [{ version: 1 }, { version: 2 }]);
  });

  test(`no message skipped: ${PUBLISHERS} publishers over both servers, readers on both by long-poll and SSE see all ${PUBLISHERS * PER_PUBLISHER} once, in order`, { timeout: 180_000 }, async () => {
    const readers = [0, 1].flatMap((s) => [new CursorReader(cluster.feedUrl(s, 'bus'), 'long-poll'), new CursorReader(cluster.feedUrl(s, 'bus'), 'sse')]);
    let last: number | undefined;
    const reading = readers.map((r) => r.run(() => last));
    const published = (await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) =>
      // Publisher p posts to server p % 2, two on each, with four requests in flight.
      publishWithRetries(() => [cluster.feedUrl(p % 2, 'bus')], `p${p}-`, PER_PUBLISHER, { inFlight: 4 })))).flat();
    const acked = published.map((a: Acknowledged) => a.seq).sort((a, b) => a - b);
    assert.deepEqual(published.filter((a) => a.status !== 201), [], 'every POST was a new entry');
    assert.equal(new Set(acked).size, PUBLISHERS * PER_PUBLISHER, 'each acknowledged under a seq of its own');
    last = acked.at(-1);
    const seen = await Promise.all(reading);
    seen.forEach((seqs, i) => {
      const name = `${i % 2 ? 'SSE' : 'long-poll'} reader on server ${i < 2 ? 'A' : 'B'}`;
      assert.deepEqual(seqs, acked, `${name}: ${describeSeqs(seqs, acked)}`);
    });
  });

  test('8 claimers spread over both servers never hold two leases on one message; every message is acked once', { timeout: 120_000 }, async () => {
    await claimers([cluster.feedUrl(0, 'jobs'), cluster.feedUrl(1, 'jobs')]);
  });
}, ['postgres']);
