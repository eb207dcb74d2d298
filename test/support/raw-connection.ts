/**
 * A raw TCP connection to a test server, for requests no HTTP client will send: bodies that never
 * end, headers a byte at a time.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** What the server wrote so far, as latin1 text. */
  answer(): string;
  /** Whether the connection has closed. */
  closed(): boolean;
}

export async function rawConnection(url: string): Promise<RawConnection> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  let closed = false;
  socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
  // Writing into a connection the server has closed fails: that is how these requests end.
  socket.on('error', () => undefined);
  socket.on('close', () => { closed = true; });
  return { socket, answer: () => answer, closed: () => closed };
}

export interface Upload {
  /** What the server wrote back. */
  readonly answer: string;
  /** Whether the server closed the connection before the client stopped sending. */
  readonly closedWhileSending: boolean;
}

/**
 * Sends `head`, then `chunk` after chunk, and stops only when the server has answered and closed
 * the connection, or after `cap` bytes: a bound in bytes, far past any limit, not in time.
 */
export async function endlessUpload(url: string, head: string, chunk: Buffer, cap: number): Promise<Upload> {
  const connection = await rawConnection(url);
  const { socket } = connection;
  socket.write(head);
  for (let sent = 0; !connection.closed() && sent < cap; sent += chunk.length) {
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const upload = { answer: connection.answer(), closedWhileSending: connection.closed() };
  socket.destroy();
  return upload;
}

/**
 * Sends the first `burst` bytes of `text` at once, then the rest a byte at a time, `pauseMs` apart,
 * until the server closes the connection or the text runs out.
 */
export async function trickle(url: string, text: string, pauseMs: number, burst = 0): Promise<{ answer: string; sent: number; closed: boolean }> {
  const connection = await rawConnection(url);
  connection.socket.write(text.slice(0, burst));
  let sent = burst;
  while (!connection.closed() && sent < text.length) {
    connection.socket.write(text[sent++] as string);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  const result = { answer: connection.answer(), sent, closed: connection.closed() };
  connection.socket.destroy();
  return result;
}
