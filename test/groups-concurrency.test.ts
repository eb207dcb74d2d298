/**
 * One live lease per message, over HTTP (DESIGN.md section 10): eight claimers compete for 2,000
 * messages on one group (support/claimers.ts). Across servers on one database: test/pg-servers.test.ts.
 */
import { after, before, test } from 'node:test';
import { claimers, CLAIMERS, MESSAGES } from './support/claimers.js';
import { eachStore } from './support/postgres.js';
import { startTestServer, type TestServer } from './support/server.js';

eachStore('consumer groups over HTTP: exactly one live lease', (kind) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ jobs: { maxWait: 5 } }, {}, kind);
  });
  after(() => server.close());

  test(`${CLAIMERS} concurrent claimers over ${MESSAGES} messages: never two live leases on one message, each acked exactly once`, { timeout: 120_000 }, async () => {
    await claimers([server.feedUrl('jobs')]);
  });
});
