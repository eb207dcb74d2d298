/**
 * The client's consumer-group calls against a real server: claim (leases, receipts, long-poll),
 * ack, nack, extend and their per-receipt outcomes, LEASE_LOST as a typed error, status, and the
 * checks made before anything is sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AtomMQClient, HttpError, InvalidArgumentError, LeaseLostError, ReceiptError, type ClaimedMessage, type GroupStatus,
} from '../src/client/index.js';
import { startTestServer, type TestServer } from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const FEEDS = ['claims', 'nacks', 'lost', 'invalid', 'status', 'held', 'checks', 'work', 'long', 'stop', 'slots', 'taken'] as const;

/** Resolves once `predicate` holds, polling; fails after `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A promise with its resolve function, to hold handlers until a test lets them go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => assert.fail('must be refused'), (error: unknown) => error);
}

describe('client: consumer groups', () => {
  let server: TestServer;
  let client: AtomMQClient;
  const publish = async (feed: string, count: number): Promise<number[]> => {
    const seqs: number[] = [];
    for (let i = 0; i < count; i++) seqs.push((await client.publish(feed, { title: `${feed} ${i}`, content: { i } })).seq);
    return seqs;
  };
  /** The group's status, undefined until its first claim created it. */
  const statusOf = (feed: string): Promise<GroupStatus | undefined> => client.group(feed, 'g').catch(() => undefined);
  before(async () => {
    server = await startTestServer(Object.fromEntries(FEEDS.map((f) => [f, {}])));
    client = new AtomMQClient(server.url, { retry: { retries: 0 } });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test('claim leases the oldest messages with receipts; ack settles them, twice is harmless; the group is created by the claim', async () => {
    const seqs = await publish('claims', 3);
    const before = Date.now();
    const claimed = await client.claim('claims', 'billing', { limit: 2 });
    assert.deepEqual(claimed.map((m) => m.seq), seqs.slice(0, 2));
    const [first] = claimed as [ClaimedMessage];
    assert.equal(first.title, 'claims 0');
    assert.deepEqual(first.content, { i: 0 });
    assert.equal(first.deliveries, 1);
    assert.equal(typeof first.receipt, 'string');
    assert.ok(first.leaseExpires instanceof Date && first.leaseExpires.getTime() > before, 'leaseExpires is a Date in the future');

    const results = await client.ack('claims', 'billing', claimed.map((m) => m.receipt));
    assert.deepEqual(results.map((r) => [r.seq, r.refused]), [[seqs[0], false], [seqs[1], false]]);
    const again = await client.ack('claims', 'billing', [first.receipt]);
    assert.equal(again[0]?.refused, false, 'acking twice succeeds');

    const status = await client.group('claims', 'billing');
    assert.equal(status.ackFloor, seqs[1]);
    assert.equal(status.pending, 0);
    assert.equal(status.lag, 1);
  });

  test('nack hands a message back (delivered again with deliveries 2); extend moves its lease end', async () => {
    const [seq] = await publish('nacks', 1);
    const [first] = await client.claim('nacks', 'g');
    assert.equal(first?.seq, seq);
    const [nacked] = await client.nack('nacks', 'g', [(first as ClaimedMessage).receipt], { delay: 0, reason: 'try again' });
    assert.equal(nacked?.refused, false);
    const [second] = await client.claim('nacks', 'g', { wait: 5, lease: 5 });
    assert.equal(second?.seq, seq);
    assert.equal(second?.deliveries, 2);
    const [extended] = await client.extend('nacks', 'g', [(second as ClaimedMessage).receipt], { lease: 600 });
    assert.ok(extended?.leaseExpires instanceof Date);
    assert.ok((extended.leaseExpires as Date).getTime() > (second as ClaimedMessage).leaseExpires.getTime(), 'the lease ends later');
    await client.ack('nacks', 'g', [(second as ClaimedMessage).receipt]);
  });

  test('a receipt whose message was claimed again: LeaseLostError (409, LEASE_LOST) with every receipt\'s outcome', async () => {
    const seqs = await publish('lost', 2);
    const [slow] = await client.claim('lost', 'g', { lease: 1 });
    const [kept] = await client.claim('lost', 'g', { lease: 600 });
    await sleep(1200);
    const [again] = await client.claim('lost', 'g', { wait: 5 });
    assert.equal(again?.seq, seqs[0], 'the lease ran out: the message went to the next claim');
    assert.equal(again?.deliveries, 2);

    const error = await rejection(client.ack('lost', 'g', [(slow as ClaimedMessage).receipt, (kept as ClaimedMessage).receipt]));
    assert.ok(error instanceof LeaseLostError, String(error));
    assert.ok(error instanceof ReceiptError && error instanceof HttpError);
    assert.equal(error.code, 'LEASE_LOST');
    assert.equal(error.status, 409);
    assert.deepEqual(error.results.map((r) => [r.receipt, r.refused, r.code ?? r.status]),
      [[(slow as ClaimedMessage).receipt, true, 'LEASE_LOST'], [(kept as ClaimedMessage).receipt, false, 'acked']]);
    const status = await client.group('lost', 'g');
    assert.equal(status.pending, 1, 'the receipt that held its lease was acked all the same; the new delivery is pending');

    const extendError = await rejection(client.extend('lost', 'g', [(slow as ClaimedMessage).receipt]));
    assert.ok(extendError instanceof LeaseLostError);
  });

  test('a receipt of no delivery: ReceiptError with code RECEIPT_INVALID, not a LeaseLostError', async () => {
    await publish('invalid', 1);
    await client.claim('invalid', 'g');
    const error = await rejection(client.ack('invalid', 'g', ['not-a-receipt']));
    assert.ok(error instanceof ReceiptError && !(error instanceof LeaseLostError), String(error));
    assert.equal(error.code, 'RECEIPT_INVALID');
    assert.equal(error.status, 400);
    assert.deepEqual([error.results[0]?.refused, error.results[0]?.code], [true, 'RECEIPT_INVALID']);
  });

  test('groups(feed) and group(feed, group) give the status; an unknown group is GROUP_NOT_FOUND', async () => {
    const seqs = await publish('status', 3);
    const [message] = await client.claim('status', 'one', { limit: 1 });
    await client.claim('status', 'two', { limit: 3 });
    await client.ack('status', 'one', [(message as ClaimedMessage).receipt]);
    const list = await client.groups('status');
    assert.deepEqual(list.map((g) => g.group).sort(), ['one', 'two']);
    const one = await client.group('status', 'one');
    assert.equal(one.feed, 'status');
    assert.equal(one.position, seqs[0]);
    assert.equal(one.ackFloor, seqs[0]);
    assert.equal(one.lag, 2);
    assert.equal(one.leaseSeconds, 30);
    const two = list.find((g) => g.group === 'two');
    assert.equal(two?.pending, 3);
    for (const field of ['maxDeliveries', 'waiting', 'dead', 'expired', 'oldestUnackedSeconds'] as const) assert.equal(typeof one[field], 'number', field);

    const error = await rejection(client.group('status', 'nobody'));
    assert.ok(error instanceof HttpError);
    assert.equal(error.code, 'GROUP_NOT_FOUND');
    const feedError = await rejection(client.claim('no-such-feed', 'g'));
    assert.equal((feedError as HttpError).code, 'FEED_NOT_FOUND');
  });

  test('claim with wait is held until a message is published, and answers with it', async () => {
    await client.claim('held', 'g');
    const claiming = client.claim('held', 'g', { wait: 20 });
    await sleep(200);
    const [seq] = await publish('held', 1);
    const claimed = await claiming;
    assert.deepEqual(claimed.map((m) => m.seq), [seq]);
  });

  test('bad arguments are refused before anything is sent', async () => {
    const requests = client.stats.requests;
    const bad: Array<() => Promise<unknown>> = [
      () => client.claim('checks', 'Bad Group'),
      () => client.claim('checks', 'g', { limit: 0 }),
      () => client.claim('checks', 'g', { lease: 0 }),
      () => client.claim('checks', 'g', { wait: -1 }),
      () => client.ack('checks', 'g', []),
      () => client.ack('checks', 'g', ['']),
      () => client.nack('checks', 'g', ['r'], { delay: -1 }),
      () => client.extend('checks', 'g', ['r'], { lease: Number.NaN }),
      () => client.group('Checks', 'g'),
    ];
    for (const call of bad) assert.ok((await rejection(call())) instanceof InvalidArgumentError);
    assert.throws(() => client.work('checks', 'g', () => undefined, { concurrency: 0 }), InvalidArgumentError);
    assert.throws(() => client.work('checks', 'g', () => undefined, { conccurency: 2 } as never), InvalidArgumentError);
    assert.equal(client.stats.requests, requests);
  });

  test('work(): acks what the handler resolved, nacks what it threw (with the error as reason), until every message is acked', async () => {
    const seqs = await publish('work', 5);
    const calls: Array<[number, number]> = [];
    const failures: string[] = [];
    const worker = client.work('work', 'g', (message) => {
      calls.push([message.seq, message.deliveries]);
      if (message.seq === seqs[2] && message.deliveries === 1) throw new Error('not yet');
    }, { concurrency: 2, wait: 1, onError: (error, { phase }) => failures.push(`${phase}: ${(error as Error).message}`) });
    await until(async () => (await statusOf('work'))?.ackFloor === seqs[4], 'every message acked');
    await worker.stop();
    assert.deepEqual(calls.filter(([seq]) => seq === seqs[2]).map(([, deliveries]) => deliveries), [1, 2], 'nacked, then delivered again');
    assert.equal(calls.length, 6);
    assert.deepEqual(failures, ['handler: not yet']);
    assert.deepEqual({ ...worker.stats, extended: 0 }, { claimed: 6, acked: 5, nacked: 1, extended: 0, lost: 0 });
  });

  test('work(): a handler running longer than its 2 s lease keeps it (extended); a second worker never gets the message', async () => {
    const [seq] = await publish('long', 1);
    const handled: Array<[string, number]> = [];
    const started = gate();
    const slow = client.work('long', 'g', async (message) => {
      handled.push(['slow', message.seq]);
      started.open();
      await sleep(5000);
    }, { lease: 2, wait: 1 });
    await started.promise;
    const other = client.work('long', 'g', (message) => { handled.push(['other', message.seq]); }, { lease: 2, wait: 1 });
    await until(() => slow.stats.acked === 1, 'the slow handler acked');
    await Promise.all([slow.stop(), other.stop()]);
    assert.deepEqual(handled, [['slow', seq]]);
    assert.ok(slow.stats.extended >= 2, `extended ${slow.stats.extended} times`);
    assert.equal((await client.group('long', 'g')).ackFloor, seq);
  });

  test('work(): stop() stops claiming, lets the running handlers finish and acks them; acks are batched', async () => {
    const seqs = await publish('stop', 10);
    const release = gate();
    let running = 0;
    let finished = 0;
    const worker = client.work('stop', 'g', async () => {
      running++;
      await release.promise;
      finished++;
    }, { concurrency: 10 });
    await until(() => running === 10, 'ten handlers running');
    const requests = client.stats.requests;
    const stopped = worker.stop();
    release.open();
    await stopped;
    assert.equal(finished, 10, 'stop() resolved after the handlers finished');
    assert.equal(worker.stats.acked, 10);
    assert.ok(client.stats.requests - requests < 10, `${client.stats.requests - requests} requests acked 10 messages`);
    await publish('stop', 1);
    const status = await client.group('stop', 'g');
    assert.equal(status.ackFloor, seqs[9]);
    assert.equal(status.lag, 1, 'nothing was claimed after stop()');
    await worker.done;
  });

  test('work(): never more handlers at once than concurrency, and no more messages claimed than free slots', async () => {
    await publish('slots', 12);
    let active = 0;
    let most = 0;
    let pendingMost = 0;
    const four = gate();
    const worker = client.work('slots', 'g', async () => {
      most = Math.max(most, ++active);
      if (active === 4) four.open();
      await four.promise;
      pendingMost = Math.max(pendingMost, (await statusOf('slots'))?.pending ?? 0);
      active--;
    }, { concurrency: 4, wait: 1 });
    await until(() => worker.stats.acked === 12, 'twelve acks');
    await worker.stop();
    assert.equal(most, 4);
    assert.ok(pendingMost <= 4, `${pendingMost} messages leased at once`);
  });

  test('work(): a lost lease aborts the handler\'s signal and the message is not acked; an unknown feed rejects done', async () => {
    const [seq] = await publish('taken', 1);
    let aborted: unknown;
    const worker = client.work('taken', 'g', async (message, { signal }) => {
      // Someone else releases the message: the next extension is refused.
      await client.nack('taken', 'g', [message.receipt], { delay: 600 });
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      aborted = signal.reason;
    }, { lease: 1, wait: 1 });
    await until(() => aborted !== undefined, 'the signal fired');
    await worker.stop();
    assert.ok(aborted instanceof LeaseLostError);
    assert.deepEqual({ acked: worker.stats.acked, lost: worker.stats.lost }, { acked: 0, lost: 1 });
    assert.equal((await client.group('taken', 'g')).waiting, 1, `seq ${seq} waits for its redelivery`);

    const fatal = await rejection(client.work('no-such-feed', 'g', () => undefined).done);
    assert.equal((fatal as HttpError).code, 'FEED_NOT_FOUND');
  });
});
