import type { Request, Response } from 'express';
import { escapeAttribute } from '../atom/escape.js';
import { MEDIA } from '../atom/render-feed.js';
import { withSeq } from '../atom/render-entry.js';
import type { StoredEntry } from '../store/store.js';
import type { Format } from './read-params.js';

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
export function noneMatch(req: Request, etag: string): boolean {
  const tags = entityTags(req.get('if-none-match'));
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

/** A stored entry has relative hrefs: its root element gets the base they resolve against. */
export function withXmlBase(xml: string, base: string): string {
  const open = xml.indexOf(' ');
  return `${xml.slice(0, open)} xml:base="${escapeAttribute(base)}"${xml.slice(open)}`;
}
