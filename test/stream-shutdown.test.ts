/**
 * SIGTERM with live streams open: the writes in flight finish and reach the streams, then every
 * stream ends cleanly (SSE and comet: a closing event or line and the end of the response;
 * WebSocket: a 1001 close frame) and the server exits 0.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { ATOM, entryXml, ProcessScope, spawnServer } from './support/server.js';
import { consumers, eventually, StreamClient } from './support/streams.js';

/** A POST whose second half is sent on `finish()`: a write in flight when the signal comes. */
function slowPost(url: string, body: string): { finish: () => void; answer: Promise<{ status: number; seq: number }> } {
  const target = new URL(url);
  const bytes = Buffer.from(body);
  const req = request({
    method: 'POST', host: target.hostname, port: target.port, path: target.pathname,
    headers: { 'Content-Type': ATOM, 'Content-Length': String(bytes.length) },
  });
  const answer = new Promise<{ status: number; seq: number }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, seq: Number(res.headers.xlastid) }));
    });
  });
  req.write(bytes.subarray(0, 20));
  return { finish: () => req.end(bytes.subarray(20)), answer };
}

describe('shutdown with live streams', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('SIGTERM: in-flight writes reach the streams, then SSE and comet end and WebSockets get 1001', { timeout: 30_000 }, async () => {
    const server = scope.track(await spawnServer(await scope.serverArgs('atommq-stream-shutdown-', { news: {}, jobs: { delivery: 'roundrobin' } })));
    const news = `${server.url}/feeds/news`;

    const sse = await StreamClient.open(news, { headers: { Accept: 'text/event-stream' } });
    const comet = await StreamClient.open(`${server.url}/c/news`, { parse: 'lines' });
    const worker = await StreamClient.open(`${server.url}/feeds/jobs`, { headers: { Accept: 'text/event-stream' } });
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/feeds/news/ws?format=json`);
    const wsMessages: string[] = [];
    ws.on('message', (d) => wsMessages.push(d.toString()));
    const wsClosed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    await eventually(async () => (await consumers(server.url)) === 4, 'four consumers');

    const inFlight = slowPost(news, entryXml('in flight at SIGTERM'));
    await new Promise((r) => setTimeout(r, 200));
    server.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!sse.ended && comet.status === 200 && ws.readyState === WebSocket.OPEN, 'streams wait for the write in flight');
    inFlight.finish();
    const { status, seq } = await inFlight.answer;
    assert.equal(status, 201, 'the write in flight is stored');

    await Promise.all([sse.closed, comet.closed, worker.closed]);
    assert.ok(sse.ended && comet.ended && worker.ended, 'each response ended with its last chunk, not cut');
    assert.deepEqual(sse.seqs(), [seq], 'the SSE reader got the write in flight');
    const closing = sse.events.at(-1);
    assert.equal(closing?.event, 'closing');
    const why = JSON.parse(closing?.data ?? '{}') as { code: string; detail: string; lastid: number };
    assert.deepEqual([why.code, why.lastid], ['SHUTTING_DOWN', seq]);
    assert.match(why.detail, /shutting down/);
    assert.equal(worker.events.at(-1)?.event, 'closing', 'round-robin streams end the same way');

    assert.deepEqual(comet.seqs(), [seq]);
    const last = JSON.parse(comet.lines.at(-1) ?? '{}') as { closing?: { code: string; lastid: number } };
    assert.deepEqual([last.closing?.code, last.closing?.lastid], ['SHUTTING_DOWN', seq]);

    const { code, reason } = await wsClosed;
    assert.equal(code, 1001, 'WebSocket: going away');
    assert.match(reason, new RegExp(`^SHUTTING_DOWN: lastid=${seq};`));
    assert.deepEqual(wsMessages.map((m) => (JSON.parse(m) as { seq: number }).seq), [seq]);

    assert.equal(await server.exited, 0, server.output());
  });
});
