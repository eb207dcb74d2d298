/**
 * AtomMQClient against real servers: publishing and reading over one pooled connection, retries
 * that never duplicate (a TCP proxy delivers the first answer after the client gave up), which
 * failures are retried and which never are, and Apache::Backend::POE's pingTimeout rule, checked
 * on connections broken by a real restart of a spawned server.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortedError, AtomMQClient, ConnectionError, HttpError, InvalidArgumentError, PublishBatchError, TimeoutError,
} from '../src/client/index.js';
import { startProxy, type TcpProxy } from './support/proxy.js';
import { freePort, makeFeedsDir, readJson, spawnServer, startTestServer, tempDir, type ChildServer, type TestServer } from './support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('publish and read', () => {
  let server: TestServer;
  let client: AtomMQClient;
  before(async () => {
    server = await startTestServer({ orders: {}, audit: { title: 'Audit log' } });
    client = new AtomMQClient(server.url);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test('connect() validates the server up front and answers its health', async () => {
    const health = await client.connect();
    assert.equal(health.status, 'ok');
  });

  test('publish returns the stored entry, its seq and its URI; read returns typed entries oldest first and the next cursor', async () => {
    const first = await client.publish('orders', { title: 'order 1', content: { orderId: 1 } });
    const second = await client.publish('orders', { title: 'order 2', content: 'plain text', summary: 'two' });
    assert.equal(first.created, true);
    assert.ok(second.seq > first.seq);
    assert.match(first.location, new RegExp(`^${server.url}/feeds/orders/entries/`));
    assert.equal(first.entry.title, 'order 1');

    const page = await client.read('orders', { lastId: 0 });
    assert.deepEqual(page.entries.map((e) => e.seq), [first.seq, second.seq]);
    assert.equal(page.lastId, second.seq);
    assert.equal(page.hasMore, false);
    assert.equal(page.feed.name, 'orders');
    const [one, two] = page.entries;
    assert.ok(one && !one.deleted && two && !two.deleted);
    assert.deepEqual(one.content, { orderId: 1 });
    assert.equal(two.content, 'plain text');
    assert.equal(two.contentType, 'text');

    const paged = await client.read('orders', { lastId: 0, limit: 1 });
    assert.deepEqual(paged.entries.map((e) => e.seq), [first.seq]);
    assert.equal(paged.hasMore, true);
    assert.equal(paged.lastId, first.seq);
    // An entry's atom:id stands for its seq as a cursor.
    assert.deepEqual((await client.read('orders', { lastId: first.id })).entries.map((e) => e.seq), [second.seq]);
    const empty = await client.read('orders', { lastId: second.seq });
    assert.deepEqual(empty.entries, []);
    assert.equal(empty.lastId, second.seq);
  });

  test('the same idempotency key (or atom:id) publishes once; the retry gets the stored entry back', async () => {
    const a = await client.publish('orders', { title: 'once', idempotencyKey: 'order-77' });
    const b = await client.publish('orders', { title: 'once', idempotencyKey: 'order-77' });
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(b.seq, a.seq);
    const reused = await client.publish('orders', { title: 'another entry', idempotencyKey: 'order-77' }).catch((e: unknown) => e);
    assert.ok(reused instanceof HttpError && reused.status === 409 && reused.code === 'IDEMPOTENCY_CONFLICT', String(reused));
    const c = await client.publish('orders', { title: 'by id', id: 'urn:uuid:8d5e0ba6-1111-4222-8333-944455556666' });
    const d = await client.publish('orders', { title: 'by id', id: 'urn:uuid:8d5e0ba6-1111-4222-8333-944455556666' });
    assert.equal(d.created, false);
    assert.equal(d.seq, c.seq);
  });

  test('publishBatch publishes in order; a failure says what was stored, and resuming with its keys duplicates nothing', async () => {
    const results = await client.publishBatch('audit', [{ title: 'a' }, { title: 'b' }, { title: 'c' }]);
    assert.deepEqual(results.map((r) => r.entry.title), ['a', 'b', 'c']);
    assert.ok(results.every((r, i) => i === 0 || r.seq > (results[i - 1] as { seq: number }).seq), 'seqs follow the batch order');

    const batch = [{ title: 'd' }, { title: 'e', published: 'not a date' }, { title: 'f' }];
    const error = await client.publishBatch('audit', batch).then(() => assert.fail('expected a PublishBatchError'), (e: unknown) => e);
    assert.ok(error instanceof PublishBatchError);
    assert.equal(error.index, 1);
    assert.equal(error.published[0]?.entry.title, 'd');
    assert.equal(error.published[1], undefined);
    assert.ok(error.cause instanceof HttpError && error.cause.status === 400);
    const fixed = batch.map((e, i) => ({ title: e.title, idempotencyKey: error.idempotencyKeys[i] as string }));
    const resumed = await client.publishBatch('audit', fixed);
    assert.deepEqual(resumed.map((r) => r.created), [false, true, true]);
    assert.equal(resumed[0]?.seq, error.published[0]?.seq);
    const titles = (await client.read('audit', { lastId: 0 })).entries.map((e) => (e.deleted ? '' : e.title));
    assert.deepEqual(titles, ['a', 'b', 'c', 'd', 'e', 'f']);
  });

  test('a 4xx is never retried and carries the server\'s problem code', async () => {
    const before = client.stats;
    const error = await client.read('nope').then(() => assert.fail('expected an HttpError'), (e: unknown) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 404);
    assert.equal(error.code, 'FEED_NOT_FOUND');
    assert.equal(error.retryable, false);
    const bad = await client.read('orders', { lastId: 'urn:uuid:00000000-0000-4000-8000-000000000000' }).catch((e: unknown) => e);
    assert.ok(bad instanceof HttpError && bad.code === 'INVALID_CURSOR');
    assert.equal(client.stats.requests - before.requests, 2, 'one request per call');
    assert.equal(client.stats.retries, before.retries);
  });

  test('arguments are checked before anything is sent', async () => {
    await assert.rejects(client.read('Not A Feed'), InvalidArgumentError);
    await assert.rejects(client.read('orders', { limit: 0 }), InvalidArgumentError);
    await assert.rejects(client.publish('orders', { idempotencyKey: 'é' }), InvalidArgumentError);
    assert.throws(() => new AtomMQClient(server.url, { pingtimeout: 1 } as never), InvalidArgumentError);
  });

  test('close() is safe twice, and a closed client refuses calls at once', async () => {
    const closing = new AtomMQClient(server.url);
    await closing.read('orders');
    await Promise.all([closing.close(), closing.close()]);
    await assert.rejects(closing.publish('orders', { title: 'too late' }), AbortedError);
    assert.equal(closing.stats.retries, 0);
  });

  test('a long-poll read is held until something is published, and its wait does not count against the timeout', async () => {
    const quick = new AtomMQClient(server.url, { timeout: 500 });
    try {
      const { lastId } = await quick.read('orders');
      const started = Date.now();
      const held = quick.read('orders', { lastId, wait: 1 });
      assert.deepEqual((await held).entries, []);
      assert.ok(Date.now() - started >= 900, 'held for the wait');
      const woken = quick.read('orders', { lastId, wait: 5 });
      await sleep(100);
      const posted = await client.publish('orders', { title: 'wake up' });
      assert.deepEqual((await woken).entries.map((e) => e.seq), [posted.seq]);
    } finally {
      await quick.close();
    }
  });

  test('an AbortSignal cancels a call at once', async () => {
    const { lastId } = await client.read('orders');
    const controller = new AbortController();
    const started = Date.now();
    const held = client.read('orders', { lastId, wait: 10, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(held, AbortedError);
    assert.ok(Date.now() - started < 1000);
  });

  test('a long-lived signal (a subscription\'s) keeps nothing of the calls it was passed to', async () => {
    // Node keeps a reference on the source signal for every AbortSignal.any() built from it, and
    // never drops it (nodejs/node#64476): counted here through Node's own bookkeeping, after
    // checking that the count sees such a reference.
    const dependants = (signal: AbortSignal): number => {
      const key = Object.getOwnPropertySymbols(signal).find((k) => k.description === 'kDependantSignals');
      return key ? (signal as unknown as Record<symbol, Set<unknown>>)[key]?.size ?? 0 : 0;
    };
    const probe = new AbortController();
    AbortSignal.any([probe.signal]);
    assert.equal(dependants(probe.signal), 1, 'this Node counts what AbortSignal.any leaves behind');

    const subscription = new AbortController();
    for (let i = 0; i < 20; i++) await client.read('orders', { signal: subscription.signal });
    assert.equal(dependants(subscription.signal), 0);
  });

  test('one keep-alive connection serves every sequential call', async () => {
    const proxy = await startProxy(server.port);
    const pooled = new AtomMQClient(proxy.url, { pingTimeout: -1 });
    try {
      await pooled.connect();
      for (let i = 0; i < 5; i++) {
        await pooled.publish('orders', { title: `pooled ${i}` });
        await pooled.read('orders', { lastId: 0, limit: 1 });
      }
      await pooled.feeds();
      assert.equal(proxy.requests.length, 12);
      assert.equal(proxy.connections, 1);
    } finally {
      await pooled.close();
      await proxy.close();
    }
  });

  test('feeds() lists the service document\'s collections', async () => {
    const feeds = await client.feeds();
    assert.deepEqual(feeds.map((f) => [f.name, f.title, f.url]), [
      ['audit', 'Audit log', `${server.url}/feeds/audit`],
      ['orders', 'orders', `${server.url}/feeds/orders`],
    ]);
    assert.ok(feeds[0]?.accept.includes('application/json'));
  });
});

describe('retries', () => {
  test('a publish whose answer arrives after the client gave up is retried with its key and stored once', async () => {
    const server = await startTestServer({ orders: {} });
    const proxy = await startProxy(server.port);
    const retries: string[] = [];
    const client = new AtomMQClient(proxy.url, { timeout: 400, retry: { retries: 3, minDelayMs: 50 }, onRetry: (e) => retries.push((e.error as Error).name) });
    try {
      // The server commits at once; the proxy holds its answer for 1.5 s, past the 400 ms timeout.
      proxy.delayAnswers(1, 1500);
      const result = await client.publish('orders', { title: 'exactly once', content: { orderId: 9 } });
      assert.deepEqual(retries, ['TimeoutError'], 'the first attempt timed out and was retried');
      assert.deepEqual(proxy.requests.filter((r) => r.startsWith('POST')), ['POST /feeds/orders', 'POST /feeds/orders']);
      assert.equal(result.created, false, 'the retry found the entry the first attempt had committed');
      const { body } = await readJson(server.feedUrl('orders'), 0);
      assert.deepEqual(body.entries.map((e) => e.title), ['exactly once']);
      assert.equal(body.entries[0]?.seq, result.seq);
    } finally {
      await client.close();
      await proxy.close();
      await server.close();
    }
  });

  describe('against a stub server', () => {
    let stub: Server;
    let url: string;
    const seen: IncomingHttpHeaders[] = [];
    let script: Array<{ status: number; body: object; headers?: Record<string, string> }> = [];
    before(async () => {
      stub = createServer((req, res) => {
        seen.push(req.headers);
        req.resume();
        req.on('end', () => {
          const next = script.shift() ?? { status: 500, body: { code: 'INTERNAL' } };
          const type = next.status >= 400 ? 'application/problem+json' : 'application/json';
          res.writeHead(next.status, { 'content-type': type, ...next.headers }).end(JSON.stringify(next.body));
        });
      });
      await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
    });
    after(() => new Promise<void>((r) => stub.close(() => r())));

    const stored = { seq: 7, id: 'urn:uuid:1', key: 'k', title: 't', published: '', updated: '', edited: '', authors: [], categories: [], links: [] };

    test('5xx is retried with growing, jittered delays, always with the same idempotency key and the token', async () => {
      seen.length = 0;
      script = [
        { status: 503, body: { status: 503, code: 'SHUTTING_DOWN', detail: 'restarting' } },
        { status: 500, body: { status: 500, code: 'INTERNAL' } },
        { status: 201, body: stored, headers: { location: `${url}/feeds/orders/entries/k`, xlastid: '7' } },
      ];
      const delays: number[] = [];
      const client = new AtomMQClient(url, { token: 's3cret', retry: { retries: 3, minDelayMs: 40 }, onRetry: (e) => delays.push(e.delayMs) });
      const result = await client.publish('orders', { title: 't' });
      await client.close();
      assert.equal(result.seq, 7);
      assert.equal(result.created, true);
      assert.equal(seen.length, 3);
      const keys = new Set(seen.map((h) => h['idempotency-key']));
      assert.equal(keys.size, 1);
      assert.match(String([...keys][0]), /^[0-9a-f-]{36}$/);
      assert.ok(seen.every((h) => h.authorization === 'Bearer s3cret'));
      assert.equal(delays.length, 2);
      assert.ok((delays[0] as number) >= 20 && (delays[0] as number) <= 40, `first delay ${delays[0]} in [min/2, min]`);
      assert.ok((delays[1] as number) >= 40 && (delays[1] as number) <= 80, `second delay ${delays[1]} in [min, 2 min]`);
    });

    test('4xx is never retried', async () => {
      seen.length = 0;
      script = [{ status: 400, body: { status: 400, code: 'INVALID_JSON', title: 'Invalid JSON entry', detail: 'field "x"' } }, { status: 201, body: stored }];
      const client = new AtomMQClient(url, { retry: { retries: 5, minDelayMs: 1 } });
      const error = await client.publish('orders', { title: 't' }).catch((e: unknown) => e);
      await client.close();
      assert.ok(error instanceof HttpError);
      assert.equal(error.code, 'INVALID_JSON');
      assert.equal(error.detail, 'field "x"');
      assert.equal(seen.length, 1);
      script = [];
    });

    test('a 5xx that keeps coming gives up after the policy\'s retries', async () => {
      seen.length = 0;
      script = [];
      const client = new AtomMQClient(url, { retry: { retries: 2, minDelayMs: 1 } });
      const error = await client.read('orders').catch((e: unknown) => e);
      await client.close();
      assert.ok(error instanceof HttpError && error.status === 500 && error.retryable);
      assert.equal(seen.length, 3);
    });
  });

  test('connection errors are retried, then reported as ConnectionError', async () => {
    const port = await freePort();
    const client = new AtomMQClient(`http://127.0.0.1:${port}`, { retry: { retries: 2, minDelayMs: 1 } });
    const error = await client.read('orders').catch((e: unknown) => e);
    await client.close();
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(client.stats.retries, 2);
    assert.equal(client.stats.requests, 3);
  });
});

/**
 * pingTimeout. On loopback a killed server's sockets are closed by the kernel and an idle client
 * hears of it at once, so nothing would be stale; the proxy in silent mode keeps the client side of
 * each broken connection open and swallows what is sent on it, as a load balancer or NAT that lost
 * the connection does. The server behind it is a real child process, restarted on the same port.
 *
 * Four clients, one per setting, each hold one pooled connection; the server is restarted under
 * them; after 1.2 s of idleness each makes one call (at once, so that all of them happen before
 * undici's own keep-alive timer, 4 s, would retire the connections and hide the difference).
 */
describe('pingTimeout (Apache::Backend::POE semantics) on connections broken by a server restart', () => {
  let dir: string;
  let server: ChildServer;
  let proxy: TcpProxy;
  const clients = new Map<string, AtomMQClient>();
  const outcomes = new Map<string, Promise<{ value?: unknown; error?: unknown }>>();
  const SETTINGS = [['always', 0], ['never', -1], ['after 1 s idle', 1], ['after 60 s idle', 60]] as const;
  /** The proxy connection each client's pooled connection came on. */
  const pooledOn = new Map<string, number>();

  before(async () => {
    dir = tempDir('atommq-ping-');
    const port = await freePort();
    const spawnArgs = { port, feedsDir: makeFeedsDir(dir, { orders: {} }), dbPath: join(dir, 'atommq.db') };
    server = await spawnServer(spawnArgs);
    proxy = await startProxy(port);
    for (const [name, pingTimeout] of SETTINGS) {
      const client = new AtomMQClient(proxy.url, { pingTimeout, pingDeadline: 300, timeout: 1000, retry: { retries: 0 } });
      await client.connect();
      await client.publish('orders', { title: `from ${name}` });
      clients.set(name, client);
      pooledOn.set(name, proxy.connections);
    }
    const lastUse = Date.now();
    assert.equal(proxy.connections, 4, 'one pooled connection per client');
    // Restart the server under the pooled connections; the proxy hides that they are now dead.
    proxy.silentCloses(true);
    server.process.kill('SIGKILL');
    await server.exited;
    server = await spawnServer(spawnArgs);
    await sleep(Math.max(0, 1200 - (Date.now() - lastUse)));
    for (const [name] of SETTINGS) {
      const client = clients.get(name) as AtomMQClient;
      outcomes.set(name, client.read('orders', { lastId: 0, retry: false }).then(
        (value) => ({ value }), (error: unknown) => ({ error })));
    }
    await Promise.all(outcomes.values());
  });
  after(async () => {
    for (const client of clients.values()) await client.close().catch(() => undefined);
    await proxy.close();
    server.process.kill('SIGKILL');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The proxy connections that carried a `GET /feeds/orders…`. */
  const readsOn = (): number[] => proxy.log.filter((l) => l.request.startsWith('GET /feeds/orders')).map((l) => l.connection);

  test('> 0 and idle longer than that: the stale connection is found by a ping and replaced; the call succeeds', async () => {
    const client = clients.get('after 1 s idle') as AtomMQClient;
    const outcome = await outcomes.get('after 1 s idle');
    assert.equal(outcome?.error, undefined);
    assert.equal((outcome?.value as { entries: unknown[] }).entries.length, 4, 'read from the restarted server');
    assert.deepEqual({ pings: client.stats.pings, failedPings: client.stats.failedPings, poolsReplaced: client.stats.poolsReplaced },
      { pings: 1, failedPings: 1, poolsReplaced: 1 });
    const ping = proxy.log.find((l) => l.request === 'GET /healthz' && l.connection === pooledOn.get('after 1 s idle'));
    assert.ok(ping, 'the ping went out on the pooled connection');
    assert.ok(!readsOn().includes(pooledOn.get('after 1 s idle') as number), 'the call did not go out on the stale connection');
    // Just used: the next call is not validated again.
    await client.read('orders', { lastId: 0, retry: false });
    assert.equal(client.stats.pings, 1);
  });

  test('< 0 never validates: the same call goes out on the dead connection and times out', async () => {
    const outcome = await outcomes.get('never');
    assert.ok(outcome?.error instanceof TimeoutError, `expected a TimeoutError, got ${String(outcome?.error ?? 'success')}`);
    assert.equal(clients.get('never')?.stats.pings, 0);
  });

  test('> 0 but idle for less than that: no ping, so the dead connection is used and the call fails', async () => {
    const outcome = await outcomes.get('after 60 s idle');
    assert.ok(outcome?.error instanceof TimeoutError, `expected a TimeoutError, got ${String(outcome?.error ?? 'success')}`);
    assert.equal(clients.get('after 60 s idle')?.stats.pings, 0);
  });

  test('0 validates before every call: the stale connection is replaced, and every later call is pinged too', async () => {
    const client = clients.get('always') as AtomMQClient;
    const outcome = await outcomes.get('always');
    assert.equal(outcome?.error, undefined);
    assert.equal((outcome?.value as { entries: unknown[] }).entries.length, 4);
    assert.equal(client.stats.failedPings, 1);
    const pingsBefore = client.stats.pings;
    const start = proxy.requests.length;
    await client.publish('orders', { title: 'after restart' }, { retry: false });
    await client.read('orders', { lastId: 0, retry: false });
    assert.deepEqual(proxy.requests.slice(start), ['GET /healthz', 'POST /feeds/orders', 'GET /healthz', 'GET /feeds/orders?format=json']);
    assert.equal(client.stats.pings - pingsBefore, 2);
  });
});
