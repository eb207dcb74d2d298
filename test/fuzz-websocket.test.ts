/**
 * Property tests over real sockets: whatever a WebSocket peer sends after a valid handshake (random
 * bytes, or frames with random FIN, RSV bits, opcode, mask, declared length and payload), the server
 * answers with well-formed frames, closes that connection, and goes on serving: /healthz answers
 * after every run, and a well-behaved reader on the same feed still gets what is published. The
 * server runs as its own process, so that an unhandled error would end it as in production.
 *
 * A failing run prints its seed; replay it with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { FC_PARAMS } from './support/fuzz.js';
import { frame, RawWebSocket, serverWithReader, type FrameSpec, type ReadServer } from './support/raw-websocket.js';
import { ProcessScope } from './support/server.js';
import { consumers, eventually } from './support/streams.js';

/** Close codes a server may send (RFC 6455 7.4): ws answers a peer's own valid code with that code. */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Declared lengths around every boundary of the length encoding and of the server's 4,096-byte limit. */
const declaredLength = fc.oneof(
  fc.constantFrom(0n, 1n, 125n, 126n, 127n, 4096n, 4097n, 65535n, 65536n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 60 }).map((s) => new Uint8Array(Buffer.from(s))),
  // A close frame's status code and reason.
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.string({ maxLength: 20 })).map(([code, reason]) => {
    const bytes = Buffer.alloc(2 + Buffer.byteLength(reason));
    bytes.writeUInt16BE(code, 0);
    bytes.write(reason, 2);
    return new Uint8Array(bytes);
  }),
  // Long payloads as their length only, so that a counterexample prints short.
  fc.constantFrom(125, 126, 4096, 4097),
);

type GeneratedFrame = Omit<FrameSpec, 'payload'> & { readonly payload: Uint8Array | number };

const frameSpec: fc.Arbitrary<GeneratedFrame> = fc.record({
  fin: fc.boolean(),
  rsv: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  opcode: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  masked: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  payload,
  length: fc.option(declaredLength, { freq: 4, nil: undefined }),
});

const FRAME_INPUT = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({ kind: 'random bytes', bytes: Buffer.from(bytes) })),
  fc.array(frameSpec, { minLength: 1, maxLength: 5 }).map((specs) => ({ kind: 'frames', specs })),
);

function bytesOf(input: { bytes: Buffer } | { specs: GeneratedFrame[] }): Buffer {
  if ('bytes' in input) return input.bytes;
  return Buffer.concat(input.specs.map((spec) => frame({ ...spec, payload: typeof spec.payload === 'number' ? Buffer.alloc(spec.payload, 0x61) : spec.payload })));
}

describe('fuzzing: no WebSocket frame makes the server fail', () => {
  const scope = new ProcessScope();
  let target: ReadServer;
  before(async () => {
    target = await serverWithReader(scope, 'fuzz');
  });
  after(async () => {
    target.close();
    await scope.cleanUp();
  });

  test('random bytes and random frames after a valid handshake: well-formed answers, the connection closed, the server serving', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(FRAME_INPUT, async (input) => {
        const bytes = bytesOf(input);
        const context = `${input.kind}: ${bytes.subarray(0, 64).toString('hex')}`;
        const { server } = target;
        const raw = await RawWebSocket.open(server.url, '/feeds/fuzz/ws');
        raw.send(bytes);
        // The peer is done: whatever state its frames left the connection in, the server must close it.
        raw.end();
        await raw.closed;
        const { frames, rest } = raw.frames();
        assert.equal(rest.length, 0, `a torn frame from the server (${context})`);
        for (const f of frames) {
          assert.ok(!f.masked && f.rsv === 0 && [0x1, 0x8, 0x9, 0xa].includes(f.opcode), `an unexpected frame ${JSON.stringify(f)} (${context})`);
          if (f.opcode === 0x8 && f.payload.length >= 2) assert.ok(isValidCloseCode(f.payload.readUInt16BE(0)), `close code ${f.payload.readUInt16BE(0)} (${context})`);
        }
        const health = await fetch(`${server.url}/healthz`);
        assert.equal(health.status, 200, `healthz after ${context}`);
        await health.arrayBuffer();
      }),
      { numRuns: 300, ...FC_PARAMS },
    );

    await target.reaches('the fuzz');
    await eventually(async () => (await consumers(target.server.url)) === 1, 'only the reader to stay registered');
    assert.doesNotMatch(target.server.output(), /"level":(50|60)/, 'nothing was logged as an error');
  });
});
