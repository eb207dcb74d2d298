/** Writing bodies: a large one in parts, at the pace of the client. */
import type { ServerResponse } from 'node:http';

/** Resolves once a response's buffer has drained below its high-water mark, or the response has closed. */
export function drained(res: ServerResponse): Promise<void> {
  if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes at least this many characters at a time: one write per entry would cost a system call
 * (and a chunk header) each, and most pages fit in one, which then goes out with a Content-Length.
 */
const WRITE_SIZE = 64 * 1024;

/**
 * Sends a body given in parts, waiting whenever the client is slower than the server, so that a
 * page of large entries is never one string in memory and a slow reader holds only what it has not
 * read yet of one write. Stops if the client leaves.
 */
export async function sendParts(res: ServerResponse, parts: Iterable<string>): Promise<void> {
  let pending: string[] = [];
  let size = 0;
  for (const part of parts) {
    pending.push(part);
    size += part.length;
    if (size < WRITE_SIZE) continue;
    const ready = res.write(pending.join(''));
    pending = [];
    size = 0;
    if (!ready) await drained(res);
    if (res.destroyed) return;
  }
  // Like every body sent whole (app.ts), it ends with a newline.
  res.end(`${pending.join('')}\n`);
}

/**
 * A media type as Express's `res.type` then `res.send` write it (`a/b; type=entry; charset=utf-8`),
 * so that answers sent with sendWhole carry the same Content-Type as those Express sends.
 */
export function headerMediaType(media: string): string {
  return media.split(';').join('; ');
}

/** A whole body as every one is sent (app.ts, sendWhole): ending with a newline. */
export function endingInNewline(body: string): string {
  return body.endsWith('\n') ? body : `${body}\n`;
}

/**
 * Sends a whole text body with `headers` (to which it adds Content-Length) in one writeHead: what
 * `res.status().set().type().send()` does for a string, without the mime lookups, charset rewriting
 * and freshness check Express repeats on each call, for the answers sent most (a POST's 201, an
 * entry). The caller handles conditional requests itself. Like every body sent whole (app.ts), it
 * ends with a newline.
 */
export function sendWhole(res: ServerResponse, status: number, headers: Record<string, string | number>, body: string): void {
  const text = endingInNewline(body);
  headers['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}
