/**
 * A WebSocket peer that breaks RFC 6455 after a real handshake: its connection is closed with the
 * code the violation calls for, and the server and every other stream go on. Raw TCP sockets, since
 * the `ws` client refuses to send such frames. The server runs as its own process, as in production:
 * an unhandled error there ends it (node:test would catch it in this one).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ProcessScope, type ChildServer } from './support/server.js';
import { frame, RawWebSocket, serverWithReader, type ReadServer } from './support/raw-websocket.js';
import { consumers, eventually } from './support/streams.js';

const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;

const closePayload = (code: number): Buffer => Buffer.from([code >> 8, code & 0xff]);

/** Each violation, and the close code RFC 6455 7.4.1 gives it (1002 protocol error, 1007 bad data, 1009 too big). */
const VIOLATIONS: ReadonlyArray<{ name: string; bytes: Buffer; code: number }> = [
  { name: 'an unmasked text frame', bytes: Buffer.from([0x81, 0x02, 0x68, 0x69]), code: 1002 },
  { name: 'RSV bits set', bytes: frame({ rsv: 4, opcode: TEXT, payload: Buffer.from('hi') }), code: 1002 },
  { name: 'reserved opcode 3', bytes: frame({ opcode: 3, payload: Buffer.from('hi') }), code: 1002 },
  { name: 'invalid UTF-8 in a text frame', bytes: frame({ opcode: TEXT, payload: Buffer.from([0xc3, 0x28, 0xff]) }), code: 1007 },
  { name: 'a fragmented ping', bytes: frame({ fin: false, opcode: PING, payload: Buffer.from('p') }), code: 1002 },
  { name: 'a ping over 125 bytes', bytes: frame({ opcode: PING, payload: Buffer.alloc(126, 0x61) }), code: 1002 },
  { name: 'a text message over the 4,096-byte limit', bytes: frame({ opcode: TEXT, payload: Buffer.alloc(4097, 0x61) }), code: 1009 },
  { name: 'a declared length of 2^53', bytes: frame({ opcode: TEXT, length: 2n ** 53n }), code: 1009 },
  { name: 'a continuation frame with nothing to continue', bytes: frame({ opcode: 0x0, payload: Buffer.from('hi') }), code: 1002 },
  { name: 'close code 999', bytes: frame({ opcode: CLOSE, payload: closePayload(999) }), code: 1002 },
  { name: 'a 1-byte close payload', bytes: frame({ opcode: CLOSE, payload: Buffer.from([0x03]) }), code: 1002 },
];

describe('WebSocket frames that break the protocol', () => {
  const scope = new ProcessScope();
  let target: ReadServer;
  let server: ChildServer;
  before(async () => {
    target = await serverWithReader(scope, 'frames');
    server = target.server;
  });
  after(async () => {
    target.close();
    await scope.cleanUp();
  });

  /** The server answers /healthz, and the reader gets a message published now. */
  async function assertServing(what: string): Promise<void> {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, `healthz after ${what}`);
    await health.arrayBuffer();
    await target.reaches(what);
  }

  for (const violation of VIOLATIONS) {
    test(`${violation.name}: closed with ${violation.code}; the server and the other stream go on`, { timeout: 20_000 }, async () => {
      const raw = await RawWebSocket.open(server.url, '/feeds/frames/ws');
      raw.send(violation.bytes);
      assert.equal(await raw.closeCode(), violation.code);
      raw.destroy();
      await raw.closed;
      await assertServing(violation.name);
    });
  }

  test('a bad frame sent with the handshake, before the server answered it, is refused the same way', { timeout: 20_000 }, async () => {
    const raw = await RawWebSocket.open(server.url, '/feeds/frames/ws?lastid=0', Buffer.from([0x81, 0x02, 0x68, 0x69]));
    assert.equal(await raw.closeCode(), 1002);
    raw.destroy();
    await assertServing('a bad frame in the handshake packet');
  });

  test('connections reset during the handshake, and after it, leave nothing behind', { timeout: 20_000 }, async () => {
    const target = new URL(server.url);
    const early = connect({ host: target.hostname, port: Number(target.port) });
    early.on('error', () => {});
    await new Promise<void>((resolve) => early.once('connect', () => resolve()));
    // A cursor makes the server look it up before it answers: the reset lands while it does.
    early.write('GET /feeds/frames/ws?lastid=0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    early.resetAndDestroy();
    const upgraded = await RawWebSocket.open(server.url, '/feeds/frames/ws');
    upgraded.send(frame({ opcode: TEXT, payload: Buffer.from('half a') }).subarray(0, 5));
    upgraded.reset();
    await upgraded.closed;
    await assertServing('resets');
    await eventually(async () => (await consumers(server.url)) === 1, 'only the reader to stay registered');
  });

  test('none of it was logged as an error', () => {
    assert.equal(server.process.exitCode, null, 'the server is still running');
    assert.doesNotMatch(server.output(), /"level":(50|60)/);
  });
});
