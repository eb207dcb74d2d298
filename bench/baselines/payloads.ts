/**
 * Response bodies for the baseline servers. They are shaped like AtomMQ's
 * responses (Atom entries inside a feed) so that the baselines pay the same
 * bytes-on-the-wire cost, and nothing else.
 */

export const ATOM_CONTENT_TYPE = 'application/atom+xml';
export const DEFAULT_PAGE_BYTES = 40 * 1024;
export const PAGE_ENTRIES = 50;
export const POST_RESPONSE_BYTES = 450;

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const STAMP = '2024-01-01T00:00:00.000Z';

function entryXml(seq: number, padding: number): string {
  return (
    `<entry xmlns="${ATOM_NS}"><id>urn:atommq:bench:${seq}</id><title>bench message</title>` +
    `<updated>${STAMP}</updated><link rel="edit" href="/feeds/bench/${seq}"/>` +
    `<content type="text">${'x'.repeat(padding)}</content></entry>`
  );
}

/** A single created entry of about POST_RESPONSE_BYTES (varies by seq digits). */
export function createdEntry(seq: number): string {
  const padding = POST_RESPONSE_BYTES - entryXml(seq, 0).length;
  return entryXml(seq, Math.max(0, padding));
}

/** A 50-entry feed page of exactly `totalBytes` (or the minimum possible size, if larger). */
export function feedPage(totalBytes: number): string {
  const head =
    `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="${ATOM_NS}"><id>urn:atommq:feed:bench</id>` +
    `<title>bench</title><updated>${STAMP}</updated><link rel="self" href="/feeds/bench"/>`;
  const tail = '</feed>';
  const seqs = Array.from({ length: PAGE_ENTRIES }, (_, i) => 1001 + i);
  const bareSize = head.length + tail.length + seqs.reduce((n, seq) => n + entryXml(seq, 0).length, 0);
  const extra = Math.max(0, totalBytes - bareSize);
  const perEntry = Math.floor(extra / PAGE_ENTRIES);
  const leftover = extra % PAGE_ENTRIES;
  // Everything is ASCII, so string length equals byte length.
  return head + seqs.map((seq, i) => entryXml(seq, perEntry + (i < leftover ? 1 : 0))).join('') + tail;
}

/** argv: <port> [pageBytes] */
export function parseArgs(argv: readonly string[]): { port: number; pageBytes: number } {
  const port = Number.parseInt(argv[2] ?? '', 10);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`usage: ${argv[1] ?? 'server'} <port> [pageBytes]`);
  }
  const pageBytes = argv[3] === undefined ? DEFAULT_PAGE_BYTES : Number.parseInt(argv[3], 10);
  if (!Number.isInteger(pageBytes) || pageBytes <= 0) throw new Error(`invalid pageBytes: ${argv[3]}`);
  return { port, pageBytes };
}
