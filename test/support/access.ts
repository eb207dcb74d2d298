/** An access file and a server that follows it, its log lines kept for the test to read. */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { hashSecret, tokenDigest } from '../../src/access/secrets.js';
import { resolveOptions, type RawOptions } from '../../src/config/server-options.js';
import { startServer, type RunningServer } from '../../src/runtime/runtime.js';
import { makeFeedsDir, tempDir } from './server.js';

export interface LoggedServer extends RunningServer {
  readonly dir: string;
  /** Every log line so far, as written. */
  readonly logs: string[];
}

/** Starts a server in this process that logs at debug level into `logs`. */
export async function startLoggedServer(feeds: Record<string, object>, options: RawOptions = {}, dir = tempDir()): Promise<LoggedServer> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const server = await startServer(resolveOptions({
    port: '0', host: '127.0.0.1', feedsDir: makeFeedsDir(dir, feeds), db: `sqlite:${join(dir, 'atommq.db')}`, logLevel: 'debug', ...options,
  }), pino({ level: 'debug' }, sink));
  return { ...server, dir, logs };
}

/** A principal of an access file as a test describes it: its secrets in clear, hashed when written. */
export interface TestPrincipal {
  /** Written as `atommq token` writes them: digests. */
  tokens?: string[];
  /** Written with scrypt, as access files made before digests hold them. */
  scryptTokens?: string[];
  user?: string;
  password?: string;
  grants: Record<string, string[]>;
}

/** The access file's JSON for these principals. */
export function accessJson(principals: Record<string, TestPrincipal>): string {
  return JSON.stringify({
    principals: Object.fromEntries(Object.entries(principals).map(([name, p]) => [name, {
      ...(p.tokens || p.scryptTokens ? { tokenHashes: [...(p.tokens ?? []).map(tokenDigest), ...(p.scryptTokens ?? []).map(hashSecret)] } : {}),
      ...(p.user !== undefined ? { user: p.user, passwordHash: hashSecret(p.password ?? '') } : {}),
      grants: p.grants,
    }])),
  });
}

/** Writes the access file in `dir`; returns its path. */
export function writeAccessFile(dir: string, principals: Record<string, TestPrincipal>): string {
  const path = join(dir, 'access.json');
  writeFileSync(path, accessJson(principals));
  return path;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** A WebSocket handshake: its status (101 when upgraded) and headers. The socket is closed either way. */
export function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}
