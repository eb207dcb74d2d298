/**
 * Round-robin delivery (feed file `"delivery": "roundrobin"`, RestMQ's policy) across live
 * consumers of every transport: each message goes to exactly one of them, in turn, and a consumer
 * that leaves loses nothing: what was not written to it goes to the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { readJson, startTestServer, type TestServer } from './support/server.js';
import { consumers, describeSeqs, eventually, publishMany, StreamClient } from './support/streams.js';

interface Consumer {
  readonly name: string;
  seqs(): number[];
  /** Leaves cleanly: stops asking, but reads what the server had already written. */
  leave(): Promise<void>;
  close(): void;
}

function seqOf(message: string): number {
  return (JSON.parse(message) as { seq: number }).seq;
}

async function sse(url: string): Promise<Consumer> {
  const client = await StreamClient.open(`${url}?format=json`, { headers: { Accept: 'text/event-stream' } });
  return {
    name: 'sse',
    seqs: () => client.events.filter((e) => e.event === 'message').map((e) => seqOf(e.data)),
    leave: async () => { client.halfClose(); await client.closed; },
    close: () => client.destroy(),
  };
}

async function comet(serverUrl: string, feed: string): Promise<Consumer> {
  const client = await StreamClient.open(`${serverUrl}/c/${feed}`, { parse: 'lines' });
  return {
    name: 'comet',
    seqs: () => client.seqs(),
    leave: async () => { client.halfClose(); await client.closed; },
    close: () => client.destroy(),
  };
}

async function websocket(serverUrl: string, feed: string): Promise<Consumer> {
  const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/feeds/${feed}/ws?format=json`);
  const got: number[] = [];
  // A closing socket still receives what the server sent before it saw the close frame.
  ws.on('message', (data) => got.push(seqOf(data.toString())));
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return {
    name: 'ws',
    seqs: () => got,
    leave: async () => { ws.close(1000); await closed; },
    close: () => ws.terminate(),
  };
}

describe('round-robin delivery', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ even: { delivery: 'roundrobin' }, leave: { delivery: 'roundrobin' }, leavews: { delivery: 'roundrobin' }, parked: { delivery: 'roundrobin' } });
  });
  after(() => server.close());

  async function threeConsumers(feed: string): Promise<Consumer[]> {
    const list = [await sse(server.feedUrl(feed)), await websocket(server.url, feed), await comet(server.url, feed)];
    await eventually(async () => (await consumers(server.url)) === 3, 'three registered consumers');
    return list;
  }

  test('3 live consumers (SSE, WebSocket, comet), 300 messages: each goes to exactly one, split evenly', { timeout: 20_000 }, async () => {
    const list = await threeConsumers('even');
    const published = await publishMany(server.feedUrl('even'), 300, 4);
    await eventually(() => list.reduce((n, c) => n + c.seqs().length, 0) >= 300, '300 deliveries');
    await new Promise((r) => setTimeout(r, 100));
    const all = list.flatMap((c) => c.seqs()).sort((a, b) => a - b);
    assert.deepEqual(all, published, describeSeqs(all, published));
    for (const c of list) {
      assert.ok(Math.abs(c.seqs().length - 100) <= 1, `${c.name} got ${c.seqs().length}`);
      assert.deepEqual(c.seqs(), [...c.seqs()].sort((a, b) => a - b), `${c.name} got its messages in seq order`);
    }
    // The policy does not change plain GETs: a cursor reader sees all 300.
    const page = await readJson(server.feedUrl('even'), 0, '&limit=1000');
    assert.equal(page.body.entries.length, 300);
    for (const c of list) c.close();
  });

  for (const [feed, leaver] of [['leave', 'sse'], ['leavews', 'ws']] as const) {
    test(`a consumer (${leaver}) leaving mid-stream loses nothing: each message is delivered exactly once`, { timeout: 20_000 }, async () => {
      const list = await threeConsumers(feed);
      const leaving = list.find((c) => c.name === leaver) as Consumer;
      const publishing = publishMany(server.feedUrl(feed), 300, 4);
      await eventually(() => leaving.seqs().length >= 30, `the ${leaver} consumer to get 30 messages`);
      await leaving.leave();
      const published = await publishing;
      const stayed = list.filter((c) => c !== leaving);
      await eventually(() => list.reduce((n, c) => n + c.seqs().length, 0) >= 300, '300 deliveries');
      await new Promise((r) => setTimeout(r, 100));
      const all = list.flatMap((c) => c.seqs()).sort((a, b) => a - b);
      assert.deepEqual(all, published, describeSeqs(all, published));
      assert.ok(leaving.seqs().length < 150, `the leaver stopped getting messages (${leaving.seqs().length})`);
      assert.ok(stayed.every((c) => c.seqs().length > 60));
      for (const c of list) c.close();
    });
  }

  test('messages published while no consumer is connected wait for the next one, in order', { timeout: 20_000 }, async () => {
    const early = await publishMany(server.feedUrl('parked'), 5, 1);
    const late = await sse(server.feedUrl('parked'));
    const live = await publishMany(server.feedUrl('parked'), 2, 1);
    await eventually(() => late.seqs().length === 7, 'seven messages');
    assert.deepEqual(late.seqs(), [...early, ...live]);
    late.close();
  });
});
