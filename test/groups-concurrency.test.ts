/**
 * One live lease per message, over HTTP: eight claimers compete for 2,000 messages on one group,
 * nacking some of them back for someone else. No message may be handed to a claimer while another
 * still holds it (each claimer gives a lease up before it sends the ack or nack that ends it), and
 * every message must end acked exactly once (DESIGN.md section 10).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claim, groupStatus, settle } from './support/groups-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { publishMany } from './support/streams.js';

const MESSAGES = 2000;
const CLAIMERS = 8;

describe('consumer groups over HTTP: exactly one live lease', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ jobs: { maxWait: 5 } });
    url = server.feedUrl('jobs');
  });
  after(() => server.close());

  test(`${CLAIMERS} concurrent claimers over ${MESSAGES} messages: never two live leases on one message, each acked exactly once`, { timeout: 120_000 }, async () => {
    const seqs = await publishMany(url, MESSAGES, 16);
    /** seq -> the claimer holding its live lease. */
    const holders = new Map<number, number>();
    const acks = new Map<number, number>();
    const violations: string[] = [];
    let nacks = 0;

    const claimer = async (id: number): Promise<void> => {
      while (acks.size < MESSAGES) {
        const { messages } = await claim(url, 'workers', { limit: 1 + Math.floor(Math.random() * 25), wait: 1 });
        for (const m of messages) {
          const holder = holders.get(m.seq);
          if (holder !== undefined) violations.push(`seq ${m.seq} handed to claimer ${id} while claimer ${holder} holds it`);
          holders.set(m.seq, id);
        }
        // Some messages go back for another claimer; the rest are acked. Each lease is given up before the request that ends it.
        const back = messages.filter((m) => m.deliveries < 3 && Math.random() < 0.1);
        const done = messages.filter((m) => !back.includes(m));
        for (const m of messages) holders.delete(m.seq);
        if (back.length > 0) {
          const nacked = await settle(url, 'workers', 'nacks', back.map((m) => m.receipt), { delay: 0 });
          assert.equal(nacked.status, 200, JSON.stringify(nacked.results));
          nacks += back.length;
        }
        if (done.length > 0) {
          const acked = await settle(url, 'workers', 'acks', done.map((m) => m.receipt));
          assert.equal(acked.status, 200, JSON.stringify(acked.results));
          for (const r of acked.results) if (r.status === 'acked') acks.set(r.seq!, (acks.get(r.seq!) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: CLAIMERS }, (_, id) => claimer(id)));

    assert.deepEqual(violations, []);
    assert.ok(nacks > 0, 'some messages went back to the group and were claimed again');
    assert.deepEqual([...acks.keys()].sort((a, b) => a - b), seqs, 'every message acked');
    assert.deepEqual([...acks.values()].filter((n) => n !== 1), [], 'no message acked twice');
    const status = await groupStatus(url, 'workers');
    assert.deepEqual([status.pending, status.waiting, status.lag, status.dead, status.ackFloor], [0, 0, 0, 0, seqs.at(-1)]);
  });
});
