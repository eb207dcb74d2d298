/**
 * A WebSocket client over a raw TCP socket: a real handshake, then whatever bytes a test chooses,
 * frames that break RFC 6455 included (the `ws` client would refuse to send them), and a reader of
 * the frames the server sends back.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { entryXml, postAtom, spawnServer, type ChildServer, type ProcessScope } from './server.js';
import { eventually } from './streams.js';

/** One frame, as RFC 6455 5.2 lays it out; anything may be wrong with it. */
export interface FrameSpec {
  readonly fin?: boolean;
  /** The three RSV bits, 0 to 7. */
  readonly rsv?: number;
  readonly opcode: number;
  /** Clients must mask; default true. */
  readonly masked?: boolean;
  readonly payload?: Uint8Array;
  /** The declared payload length, when it should differ from the payload's. */
  readonly length?: bigint;
}

/** The bytes of a frame. */
export function frame(spec: FrameSpec): Buffer {
  const payload = Buffer.from(spec.payload ?? []);
  const length = spec.length ?? BigInt(payload.length);
  const masked = spec.masked ?? true;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 | (spec.opcode & 0x0f);
  let head: Buffer;
  if (length < 126n) head = Buffer.from([first, Number(length)]);
  else if (length < 0x10000n) {
    head = Buffer.from([first, 126, 0, 0]);
    head.writeUInt16BE(Number(length), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt.asUintN(64, length), 2);
  }
  if (masked) head[1] = (head[1] as number) | 0x80;
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  return Buffer.concat([head, mask, payload.map((byte, i) => byte ^ (mask[i % 4] as number))]);
}

/** A frame the server sent. */
export interface ServerFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Buffer;
}

/** Splits what the server sent into frames; `rest` is an incomplete frame at the end, if any. */
export function parseFrames(bytes: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const b0 = bytes[at] as number;
    const b1 = bytes[at + 1] as number;
    let length = b1 & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (bytes.length < start + 2) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (bytes.length < start + 8) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) start += 4;
    if (bytes.length < start + length) break;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return { frames, rest: bytes.subarray(at) };
}

/** A raw connection after a successful handshake. */
export class RawWebSocket {
  /** Everything received after the 101 response head. */
  private received: Buffer = Buffer.alloc(0);
  /** Resolves once the connection has closed, whichever side closed it. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket, first: Buffer) {
    this.received = first;
    socket.on('data', (data: Buffer) => { this.received = Buffer.concat([this.received, data]); });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /**
   * Connects to `path` on the server and completes a WebSocket handshake; rejects on any other
   * answer. `early` bytes go out with the handshake, before the server has answered it.
   */
  static open(serverUrl: string, path: string, early: Uint8Array = Buffer.alloc(0)): Promise<RawWebSocket> {
    const url = new URL(serverUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port), allowHalfOpen: true });
    // The server may cut the connection while a test is still writing: that is what is tested.
    socket.on('error', () => {});
    socket.write([`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'));
    if (early.length > 0) socket.write(early);
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (data: Buffer): void => {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        const status = head.subarray(0, end).toString('latin1');
        if (!status.startsWith('HTTP/1.1 101 ')) {
          socket.destroy();
          reject(new Error(`no upgrade: ${head.toString('latin1')}`));
          return;
        }
        resolve(new RawWebSocket(socket, head.subarray(end + 4)));
      };
      const onClose = (): void => reject(new Error(`closed during the handshake: ${head.toString('latin1')}`));
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  }

  send(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-closes: the peer reads the end of the stream, as after a client's last frame. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Cuts the connection with a TCP reset, as a crashed peer or a middlebox would. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** The frames received so far, and what is left over after them. */
  frames(): { frames: ServerFrame[]; rest: Buffer } {
    return parseFrames(this.received);
  }

  /** The status code of the server's close frame, once it arrives; undefined if the connection closes without one. */
  async closeCode(): Promise<number | undefined> {
    for (;;) {
      const close = this.frames().frames.find((f) => f.opcode === 8);
      if (close) return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
      if (this.socket.destroyed || this.socket.readableEnded) return undefined;
      await new Promise<void>((resolve) => {
        const next = (): void => {
          for (const event of ['data', 'end', 'close']) this.socket.off(event, next);
          resolve();
        };
        for (const event of ['data', 'end', 'close']) this.socket.on(event, next);
      });
    }
  }
}

/** A server in its own process (where an unhandled error would end it), with a well-behaved WebSocket reader on one feed. */
export interface ReadServer {
  readonly server: ChildServer;
  /** Publishes an entry to the feed and waits until the reader has received it. */
  reaches(title: string): Promise<void>;
  /** Closes the reader. */
  close(): void;
}

export async function serverWithReader(scope: ProcessScope, feed: string): Promise<ReadServer> {
  const server = scope.track(await spawnServer(await scope.serverArgs(`atommq-${feed}-`, { [feed]: {} })));
  const reader = new WebSocket(`${server.url.replace(/^http/, 'ws')}/feeds/${feed}/ws?format=json`);
  const received: number[] = [];
  reader.on('message', (data) => received.push((JSON.parse(data.toString()) as { seq: number }).seq));
  await new Promise<void>((resolve, reject) => {
    reader.once('open', () => resolve());
    reader.once('error', reject);
  });
  return {
    server,
    reaches: async (title) => {
      const seq = Number((await postAtom(`${server.url}/feeds/${feed}`, entryXml(title))).headers.get('xlastid'));
      await eventually(() => received.includes(seq), `the reader to get the message published after ${title}`);
    },
    close: () => reader.close(),
  };
}
