/**
 * A server killed with SIGKILL while consumers claim and ack over HTTP, then restarted on the same
 * database: a message whose ack was answered is never delivered again, one leased at the kill comes
 * back once its lease has ended, and nothing is lost (DESIGN.md sections 8 and 10). The group is
 * declared in the feed file, so the restart also declares it again over its own state.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ClaimedJson } from './support/groups-http.js';
import { ProcessScope, spawnServer } from './support/server.js';
import { publishMany } from './support/streams.js';

const GROUP = 'workers';
const MESSAGES = 300;
const LEASE = 2;

/** A claim or an ack that the kill may cut off: undefined when no answer came. */
async function attempt<T>(request: () => Promise<Response>, read: (res: Response) => Promise<T>): Promise<T | undefined> {
  try {
    const res = await request();
    return res.status === 200 ? await read(res) : undefined;
  } catch {
    return undefined;
  }
}

describe('consumer groups: a server killed with SIGKILL', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('after a restart, answered acks stay acked, leases held at the kill come back after their lease, nothing is lost', { timeout: 120_000 }, async () => {
    const args = await scope.serverArgs('atommq-groups-restart-', { jobs: { maxWait: 5, groups: { [GROUP]: { lease: LEASE } } } });
    const first = scope.track(await spawnServer(args));
    const url = `${first.url}/feeds/jobs`;
    const seqs = await publishMany(url, MESSAGES, 8);

    const acked = new Set<number>();
    /** Leased and not (yet) acked: seq -> when the lease ends. */
    const leased = new Map<number, number>();
    /** Acks sent whose answer the kill cut off: they may or may not have been committed. */
    const unsure = new Set<number>();
    let stop = false;
    const consumer = async (): Promise<void> => {
      while (!stop) {
        const messages = await attempt(() => fetch(`${url}/groups/${GROUP}/claims?format=json&limit=5`, { method: 'POST' }),
          async (res) => ((await res.json()) as { messages: ClaimedJson[] }).messages);
        if (!messages) return;
        for (const m of messages) leased.set(m.seq, Date.parse(m.leaseExpires));
        const answer = await attempt(() => fetch(`${url}/groups/${GROUP}/acks`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ receipts: messages.map((m) => m.receipt) }),
        }), async (res) => res.json());
        for (const m of messages) {
          if (answer) {
            acked.add(m.seq);
            leased.delete(m.seq);
          } else unsure.add(m.seq);
        }
        if (!answer) return;
      }
    };
    const consumers = [consumer(), consumer(), consumer()];
    while (acked.size < MESSAGES / 3) await new Promise((r) => setTimeout(r, 5));
    // Ten messages leased by a consumer that will never ack them, while the others keep going.
    const kept = (await (await fetch(`${url}/groups/${GROUP}/claims?format=json&limit=10`, { method: 'POST' })).json()) as { messages: ClaimedJson[] };
    for (const m of kept.messages) leased.set(m.seq, Date.parse(m.leaseExpires));
    first.process.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    stop = true;
    await Promise.all(consumers);
    // Leased but never acked: in flight at the kill, or claimed and not yet acked.
    for (const seq of unsure) leased.delete(seq);
    assert.ok(acked.size >= MESSAGES / 3);
    assert.ok(leased.size >= 10, `${leased.size} messages leased at the kill`);

    const second = scope.track(await spawnServer(args));
    const again = `${second.url}/feeds/jobs`;
    const redelivered: ClaimedJson[] = [];
    const received = new Map<number, number>();
    // Until a claim waits its whole wait (longer than a lease) for nothing: every lease of the killed server has ended.
    for (;;) {
      const res = await fetch(`${again}/groups/${GROUP}/claims?format=json&limit=50&wait=5`, { method: 'POST' });
      const { messages } = (await res.json()) as { messages: ClaimedJson[] };
      if (messages.length === 0) break;
      for (const m of messages) received.set(m.seq, Date.now());
      redelivered.push(...messages.filter((m) => !unsure.has(m.seq)));
      const ack = await fetch(`${again}/groups/${GROUP}/acks`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ receipts: messages.map((m) => m.receipt) }),
      });
      assert.equal(ack.status, 200);
    }

    const back = redelivered.map((m) => m.seq);
    assert.deepEqual(back.filter((seq) => acked.has(seq)), [], 'a message whose ack was answered is never delivered again');
    assert.equal(new Set(back).size, back.length, 'each message comes back once');
    const accounted = new Set([...acked, ...back, ...unsure]);
    assert.deepEqual(seqs.filter((seq) => !accounted.has(seq)), [], 'nothing is lost');
    const leasedBack = redelivered.filter((r) => leased.has(r.seq));
    assert.equal(leasedBack.length, leased.size, 'every lease held at the kill comes back');
    for (const m of leasedBack) {
      assert.ok(m.deliveries >= 2, `seq ${m.seq} was leased at the kill: delivery ${m.deliveries}`);
      assert.ok(received.get(m.seq)! >= leased.get(m.seq)!, `seq ${m.seq} came back before its lease ended`);
    }
    const status = (await (await fetch(`${again}/groups/${GROUP}`)).json()) as { pending: number; lag: number; leaseSeconds: number };
    assert.deepEqual([status.pending, status.lag, status.leaseSeconds], [0, 0, LEASE]);
  });
});
