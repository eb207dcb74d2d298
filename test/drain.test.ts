/**
 * Graceful close of the HTTP side (src/runtime/shutdown.ts), in-process on a bare http.Server: the
 * streams end once the last answer in flight has gone out, learnt from the responses' own events
 * rather than by polling, and a kept-alive connection is closed as its last response ends.
 */
import assert from 'node:assert/strict';
import { Agent, createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { STREAM_OPENED } from '../src/http/streams/response-sink.js';
import { InFlight } from '../src/runtime/shutdown.js';

/** A server whose handler hands each response to the test, tracked as the runtime tracks them. */
async function heldServer(keepAliveTimeout?: number): Promise<{
  inFlight: InFlight; url: string; next: () => Promise<ServerResponse>; close: () => void;
}> {
  const server = createServer({ keepAliveTimeout });
  const inFlight = new InFlight(server);
  const waiting: Array<(res: ServerResponse) => void> = [];
  const arrived: ServerResponse[] = [];
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.track(res);
    const take = waiting.shift();
    if (take) take(res);
    else arrived.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    inFlight,
    url: `http://127.0.0.1:${port}`,
    next: () => {
      const res = arrived.shift();
      return res ? Promise.resolve(res) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => server.closeAllConnections(),
  };
}

function fetchRaw(url: string, agent?: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { agent }, resolve).once('error', reject));
}

/** Lets every pending event and callback run: whatever could happen by itself has happened. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('draining the HTTP server', () => {
  test('streams end only once the last answer in flight has gone out; then the drain resolves', async () => {
    const server = await heldServer();
    const steps: string[] = [];
    try {
      const slowAnswer = fetchRaw(`${server.url}/slow`);
      const slow = await server.next();
      const streamAnswer = fetchRaw(`${server.url}/stream`);
      const stream = await server.next();
      stream.writeHead(200, { Connection: 'close' }).write('open\n');
      stream.emit(STREAM_OPENED);
      await streamAnswer;

      const drained = server.inFlight.drain(() => {
        steps.push('streams ended');
        stream.end();
      }, () => steps.push('cut'));
      await settle();
      assert.deepEqual(steps, [], 'the streams stay open while a request is unanswered');
      assert.equal(slow.getHeader('connection'), 'close', 'an answer not begun will close its connection');

      slow.end('done');
      const answer = await slowAnswer;
      answer.resume();
      await drained;
      assert.deepEqual(steps, ['streams ended'], 'streams ended once, after the answer; nothing was cut');
    } finally {
      server.close();
    }
  });

  test('with nothing in flight the streams end at once', async () => {
    const server = await heldServer();
    let ended = 0;
    await server.inFlight.drain(() => { ended++; }, () => assert.fail('nothing to cut'));
    assert.equal(ended, 1);
  });

  test('a kept-alive connection whose response began before the drain is closed as that response ends', async () => {
    // No keep-alive timeout: only the end of the response, or the deadline, can close the connection.
    const server = await heldServer(0);
    const agent = new Agent({ keepAlive: true });
    const cut: string[] = [];
    try {
      const answering = fetchRaw(`${server.url}/page`, agent);
      const page = await server.next();
      // Headers already out: the client was told it may keep the connection.
      page.writeHead(200, { 'Content-Type': 'text/plain' }).write('first half\n');
      const answer = await answering;
      assert.notEqual(answer.headers.connection, 'close');
      answer.resume();

      const drained = server.inFlight.drain(() => {}, () => cut.push('cut'));
      page.end('second half\n');
      await drained;
      assert.deepEqual(cut, [], 'the connection closed as its response ended, not at the deadline');
    } finally {
      agent.destroy();
      server.close();
    }
  });
});
