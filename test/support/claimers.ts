/**
 * Eight claimers competing for 2,000 messages on one group, nacking some of them back for someone
 * else, spread over the given URLs of one feed (one server, or several on one database). No
 * message may be handed to a claimer while another still holds it (each claimer gives a lease up
 * before it sends the ack or nack that ends it), and every message must end acked exactly once.
 */
import assert from 'node:assert/strict';
import { claim, groupStatus, settle } from './groups-http.js';
import { publishMany } from './streams.js';

export const MESSAGES = 2000;
export const CLAIMERS = 8;

export async function claimers(feedUrls: readonly string[]): Promise<void> {
  const urlOf = (i: number): string => feedUrls[i % feedUrls.length]!;
  const seqs = (await Promise.all(feedUrls.map((url, i) =>
    publishMany(url, MESSAGES / feedUrls.length + (i < MESSAGES % feedUrls.length ? 1 : 0), 16)))).flat().sort((a, b) => a - b);
  /** seq -> the claimer holding its live lease. */
  const holders = new Map<number, number>();
  const acks = new Map<number, number>();
  const violations: string[] = [];
  let nacks = 0;

  const claimer = async (id: number): Promise<void> => {
    const url = urlOf(id);
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
  const status = await groupStatus(feedUrls[0]!, 'workers');
  assert.deepEqual([status.pending, status.waiting, status.lag, status.dead, status.ackFloor], [0, 0, 0, 0, seqs.at(-1)]);
}
