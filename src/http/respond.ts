import type { ServerResponse } from 'node:http';
import type { Response } from 'express';
import { withSeq, withXmlBase } from '../atom/finish-entry.js';
import { MEDIA } from '../atom/media.js';
import type { StoredEntry } from '../store/store.js';
import type { Format } from './read-params.js';
import type { RequestView } from './request-view.js';

/** An entry's ETag is its seq: every change gets a new seq, so the seq names the version exactly. */
export function entryEtag(entry: StoredEntry): string {
  return `"${entry.seq}"`;
}

/** Parses If-Match / If-None-Match into entity tags; `*` stays as it is. */
export function entityTags(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header.split(',').map((t) => t.trim()).filter(Boolean);
}

/** If-None-Match uses the weak comparison (RFC 9110 13.1.2). */
export function noneMatch(req: RequestView, etag: string): boolean {
  const tags = entityTags(req.header('if-none-match'));
  const opaque = (t: string): string => t.replace(/^W\//, '');
  return tags.includes('*') || tags.some((t) => opaque(t) === opaque(etag));
}

/** Sends one stored entry in the asked format, with the headers a worker or AtomPub client uses. */
export function sendEntry(res: Response, entry: StoredEntry, format: Format, base: string, status = 200): void {
  const rendered = withSeq(entry, entry.seq, entry.deleted);
  res.status(status).set({ ETag: entryEtag(entry), Xlastid: String(entry.seq), Vary: 'Accept' });
  if (format === 'json') {
    res.type(MEDIA.json).send(rendered.json);
    return;
  }
  res.type(MEDIA.entry).send(`<?xml version="1.0" encoding="UTF-8"?>\n${withXmlBase(rendered.xml, base)}`);
}

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
