/**
 * subscribe(): entries in seq order, the cursor saved only after the handler resolved, a throwing
 * handler retried on the same entry and never skipped, stop() waiting for the handler in progress,
 * and a subscriber that rides out restarts of a real server (a child process killed and started
 * again on the same port) without missing anything. Every behaviour is checked over long-poll and
 * over server-sent events.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AtomMQClient, HandlerError, HttpError, MemoryCursorStore, type CursorStore, type Entry, type FailurePhase, type Subscription,
} from '../src/client/index.js';
import { freePort, makeFeedsDir, spawnServer, startTestServer, tempDir, type ChildServer, type TestServer } from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `predicate` holds, polling; fails after `ms`. */
async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A cursor store that records its saves and checks that each one follows its handler's success. */
class CheckedStore implements CursorStore {
  readonly saves: number[] = [];
  readonly acknowledged = new Set<number>();
  constructor(private seq: number | undefined = undefined) {}
  async load(): Promise<number | undefined> {
    return this.seq;
  }
  async save(seq: number): Promise<void> {
    assert.ok(this.acknowledged.has(seq) || this.saves.length === 0, `seq ${seq} saved before its handler resolved`);
    this.saves.push(seq);
    this.seq = seq;
  }
}

const fast = { reconnect: { minDelayMs: 20, maxDelayMs: 300 }, handlerRetry: { minDelayMs: 20, maxDelayMs: 100 } } as const;

for (const transport of ['longpoll', 'sse'] as const) {
  describe(`subscribe over ${transport}`, () => {
    let server: TestServer;
    let client: AtomMQClient;
    let feedNo = 0;
    /** A fresh feed per test, mounted by writing its file (hot reload). */
    async function freshFeed(): Promise<string> {
      const name = `${transport}-${++feedNo}`;
      server.writeFeed(name, {});
      for (let i = 0; i < 100; i++) {
        if ((await fetch(server.feedUrl(name))).status === 200) return name;
        await sleep(20);
      }
      throw new Error(`feed ${name} was not mounted`);
    }
    before(async () => {
      server = await startTestServer({});
      client = new AtomMQClient(server.url);
    });
    after(async () => {
      await client.close();
      await server.close();
    });

    test('hands over every entry in seq order and saves each seq only after its handler resolved', async () => {
      const feed = await freshFeed();
      const early = await client.publishBatch(feed, Array.from({ length: 30 }, (_, i) => ({ title: `early ${i}` })));
      const store = new CheckedStore();
      const seen: number[] = [];
      const sub = client.subscribe(feed, async (entry) => {
        seen.push(entry.seq);
        await sleep(entry.seq % 3);
        store.acknowledged.add(entry.seq);
      }, { cursorStore: store, transport, limit: 7 });
      const late = await client.publishBatch(feed, Array.from({ length: 10 }, (_, i) => ({ title: `late ${i}` })));
      const all = [...early, ...late].map((r) => r.seq);
      await until(() => seen.length >= all.length, 5000, 'all entries');
      await sub.stop();
      assert.deepEqual(seen, all);
      assert.deepEqual(store.saves, all);
      assert.equal(sub.lastId, all.at(-1));
    });

    test('a handler that throws is retried with backoff on the same entry, never skipping it', async () => {
      const feed = await freshFeed();
      const seqs = (await client.publishBatch(feed, [{ title: 'a' }, { title: 'poison' }, { title: 'c' }])).map((r) => r.seq);
      const store = new CheckedStore();
      const calls: Array<[number, number]> = [];
      const failures: Array<[FailurePhase, number | undefined, number]> = [];
      const sub = client.subscribe(feed, async (entry, { attempt }) => {
        calls.push([entry.seq, attempt]);
        if (!entry.deleted && entry.title === 'poison' && attempt < 3) {
          assert.deepEqual(store.saves, [seqs[0]], 'the cursor stays before the failing entry');
          throw new Error(`failing attempt ${attempt}`);
        }
        store.acknowledged.add(entry.seq);
      }, { ...fast, cursorStore: store, transport, onError: (_e, c) => failures.push([c.phase, c.entry?.seq, c.delayMs]) });
      await until(() => store.saves.length === 3, 5000, 'three saves');
      await sub.stop();
      assert.deepEqual(calls, [[seqs[0], 1], [seqs[1], 1], [seqs[1], 2], [seqs[1], 3], [seqs[2], 1]]);
      assert.deepEqual(store.saves, seqs);
      assert.deepEqual(failures.map(([phase, seq]) => [phase, seq]), [['handler', seqs[1]], ['handler', seqs[1]]]);
      assert.ok(failures.every(([, , delay]) => delay > 0), 'each retry waits');
    });

    test('a handler out of retries ends the subscription with a HandlerError; a new one resumes at that entry', async () => {
      const feed = await freshFeed();
      const seqs = (await client.publishBatch(feed, [{ title: 'ok' }, { title: 'bad' }, { title: 'after' }])).map((r) => r.seq);
      const store = new MemoryCursorStore();
      const sub = client.subscribe(feed, (entry) => {
        if (!entry.deleted && entry.title === 'bad') throw new Error('no');
      }, { ...fast, cursorStore: store, transport, handlerRetry: { retries: 2, minDelayMs: 5 } });
      const error = await sub.done.then(() => assert.fail('expected a HandlerError'), (e: unknown) => e);
      assert.ok(error instanceof HandlerError);
      assert.equal(error.seq, seqs[1]);
      assert.equal(error.attempts, 3);
      assert.equal(await store.load(), seqs[0]);

      const seen: number[] = [];
      const again = client.subscribe(feed, (entry) => { seen.push(entry.seq); }, { cursorStore: store, transport });
      await until(() => seen.length === 2, 5000, 'the rest');
      await again.stop();
      assert.deepEqual(seen, seqs.slice(1));
    });

    test('stop() waits for the handler in progress and saves its seq; nothing after it is started', async () => {
      const feed = await freshFeed();
      const seqs = (await client.publishBatch(feed, [{ title: 'slow' }, { title: 'never' }])).map((r) => r.seq);
      const store = new MemoryCursorStore();
      const started: number[] = [];
      let finished = 0;
      const sub = client.subscribe(feed, async (entry) => {
        started.push(entry.seq);
        await sleep(300);
        finished = Date.now();
      }, { cursorStore: store, transport });
      await until(() => started.length === 1, 5000, 'the first handler');
      const stopping = Date.now();
      await sub.stop();
      assert.ok(finished > 0 && Date.now() >= finished, 'stop() resolved after the handler finished');
      assert.ok(Date.now() - stopping >= 250);
      assert.deepEqual(started, [seqs[0]]);
      assert.equal(await store.load(), seqs[0]);
      await sub.done;
      await sub.stop(); // safe twice
    });

    test('stop() while waiting for news returns at once', async () => {
      const feed = await freshFeed();
      const sub = client.subscribe(feed, () => undefined, { transport, wait: 20 });
      await sleep(200);
      const started = Date.now();
      await sub.stop();
      assert.ok(Date.now() - started < 500, `stopped in ${Date.now() - started} ms`);
    });

    test("from: 'latest' skips the backlog and saves its starting point at once; a stored cursor wins over from", async () => {
      const feed = await freshFeed();
      await client.publish(feed, { title: 'old' });
      const store = new MemoryCursorStore();
      const seen: number[] = [];
      const sub = client.subscribe(feed, (entry) => { seen.push(entry.seq); }, { cursorStore: store, from: 'latest', transport });
      await until(() => sub.lastId !== undefined, 5000, 'the start');
      const latest = await client.latestId(feed);
      assert.equal(await store.load(), latest);
      const fresh = await client.publish(feed, { title: 'new' });
      await until(() => seen.length === 1, 5000, 'the new entry');
      await sub.stop();
      assert.deepEqual(seen, [fresh.seq]);

      const resumed: number[] = [];
      const again = client.subscribe(feed, (entry) => { resumed.push(entry.seq); }, { cursorStore: new MemoryCursorStore(0), from: 'latest', transport });
      await until(() => resumed.length === 2, 5000, 'both');
      await again.stop();
    });

    test('an unknown feed is a fatal 404, not retried', async () => {
      const sub = client.subscribe('no-such-feed', () => undefined, { ...fast, transport });
      const error = await sub.done.then(() => assert.fail('expected an HttpError'), (e: unknown) => e);
      assert.ok(error instanceof HttpError);
      assert.equal(error.code, 'FEED_NOT_FOUND');
    });
  });
}

describe('a round-robin feed', () => {
  test('refuses an SSE subscription (its streams take no cursor) with a fatal 400; long-poll reads it as a log', async () => {
    const server = await startTestServer({ rr: { delivery: 'roundrobin' } });
    const client = new AtomMQClient(server.url);
    try {
      const { seq } = await client.publish('rr', { title: 'before anyone listened' });
      const error = await client.subscribe('rr', () => undefined, { transport: 'sse' }).done.then(() => assert.fail('expected an HttpError'), (e: unknown) => e);
      assert.ok(error instanceof HttpError, String(error));
      assert.equal(error.status, 400);
      const seen: number[] = [];
      await client.subscribe('rr', (entry) => { seen.push(entry.seq); }, { follow: false }).done;
      assert.deepEqual(seen, [seq]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('subscribe with follow: false', () => {
  test('reads what is there, page by page, and resolves once caught up', async () => {
    const server = await startTestServer({ jobs: {} });
    const client = new AtomMQClient(server.url);
    try {
      const seqs = (await client.publishBatch('jobs', Array.from({ length: 12 }, (_, i) => ({ title: `job ${i}` })))).map((r) => r.seq);
      const seen: number[] = [];
      const store = new MemoryCursorStore();
      await client.subscribe('jobs', (entry: Entry) => { seen.push(entry.seq); }, { cursorStore: store, follow: false, limit: 5 }).done;
      assert.deepEqual(seen, seqs);
      assert.equal(await store.load(), seqs.at(-1));
      await client.subscribe('jobs', () => assert.fail('nothing is left'), { cursorStore: store, follow: false }).done;
    } finally {
      await client.close();
      await server.close();
    }
  });
});

/**
 * The server is restarted twice while a subscription runs: first killed (SIGKILL: connections
 * reset, a held long-poll or a stream cut mid-way), then stopped gracefully (SIGTERM: held
 * long-polls answered empty, streams ended with a `closing` event). Publishing goes on throughout,
 * through a client whose retries outlast the restarts. The subscriber must reconnect by itself and
 * get every acknowledged entry exactly once, in order.
 */
describe('a server restarted under a running subscription', () => {
  let dir: string;
  let spawnArgs: { port: number; feedsDir: string; dbPath: string };
  let server: ChildServer;
  before(async () => {
    dir = tempDir('atommq-restart-');
    spawnArgs = { port: await freePort(), feedsDir: makeFeedsDir(dir, { longpoll: {}, sse: {} }), dbPath: join(dir, 'atommq.db') };
    server = await spawnServer(spawnArgs);
  });
  after(async () => {
    server.process.kill('SIGKILL');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['longpoll', 'sse'] as const) {
    test(`${transport}: reconnects by itself after a kill and after a graceful restart, and misses nothing`, { timeout: 30_000 }, async () => {
      const publisher = new AtomMQClient(server.url, { retry: { retries: 30, minDelayMs: 50, maxDelayMs: 200 } });
      const subscriber = new AtomMQClient(server.url);
      const seen: number[] = [];
      const phases: FailurePhase[] = [];
      const published: number[] = [];
      let publishing = true;
      let sub: Subscription | undefined;
      const publishLoop = (async () => {
        for (let i = 0; publishing; i++) {
          published.push((await publisher.publish(transport, { title: `m${i}` })).seq);
          await sleep(15);
        }
      })();
      try {
        sub = subscriber.subscribe(transport, (entry) => { seen.push(entry.seq); }, {
          transport, wait: 10, reconnect: { minDelayMs: 50, maxDelayMs: 300 }, onError: (_e, c) => phases.push(c.phase),
        });
        for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
          await until(() => seen.length >= published.length - 1 && seen.length > 5, 5000, 'the subscriber to keep up');
          const before = phases.length;
          server.process.kill(signal);
          await server.exited;
          await sleep(200);
          server = await spawnServer(spawnArgs);
          await until(() => phases.length > before, 5000, 'the subscriber to notice the restart');
          const count = published.length;
          await until(() => published.length > count + 5 && seen.length >= published.length - 1, 10_000, 'delivery after the restart');
        }
        publishing = false;
        await publishLoop;
        await until(() => seen.length >= published.length, 5000, 'the last entries');
        await sub.stop();
        assert.deepEqual(seen, published, 'every acknowledged entry, once, in order');
        assert.ok(phases.every((p) => p === 'connection'), `only connection failures: ${phases.join(', ')}`);
      } finally {
        publishing = false;
        await publishLoop.catch(() => undefined);
        await sub?.stop();
        await publisher.close();
        await subscriber.close();
      }
    });
  }
});

describe('subscribe options', () => {
  test('wrong options are refused at once, before anything is sent', () => {
    const client = new AtomMQClient('http://127.0.0.1:9');
    const handler = (): void => undefined;
    for (const options of [{ limit: 0 }, { wait: -1 }, { from: -3 }, { from: 'earliest' }, { transport: 'ws' }, { idleTimeout: 0 },
      { cursorStore: {} }, { cursorstore: new MemoryCursorStore() }, { reconnect: { retries: -1 } }]) {
      assert.throws(() => client.subscribe('jobs', handler, options as never), (e: unknown) => e instanceof TypeError || (e as Error).name === 'InvalidArgumentError', JSON.stringify(options));
    }
    assert.throws(() => client.subscribe('Jobs!', handler), /not a feed name/);
  });
});
