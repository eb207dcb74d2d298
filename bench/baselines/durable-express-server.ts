/**
 * Durable floor: bare Express 5 doing the least a durable message bus must do, and no more, so
 * that AtomMQ's figures can be read against what Express plus fsync durability costs on this
 * machine as well as against the bare servers.
 *
 * - `POST /feeds/<any>`: the body goes to a writer thread that appends it to a one-table SQLite
 *   log (WAL, one fsync per group commit, as AtomMQ commits); the 201 goes out after the commit.
 *   No Atom parsing, no rendering, no secondary index.
 * - `GET /feeds/<any>?limit=N` (default 50) with an `Xlastid` cursor: the next N rows after the
 *   cursor, read on the HTTP thread through a prepared statement (as AtomMQ reads), their stored
 *   bodies concatenated inside a bare `<feed>`, `Xlastid` the last row's seq. With `?wait=` and
 *   the cursor at the newest seq it is held until the next commit, then answered the same way (a
 *   long-poll woken by a durable commit).
 * - `GET /feeds/<any>` with `Accept: text/event-stream`: live server-sent events, each commit's
 *   bodies framed once and written to every stream.
 *
 * argv: <port> <pageBytes> <database path>
 */
import express, { type Response } from 'express';
import { Worker } from 'node:worker_threads';
import { logPageReader, openLog } from './durable-log.js';
import type { Append, Committed } from './durable-writer.js';
import { ATOM_CONTENT_TYPE, createdEntry, PAGE_ENTRIES, parseArgs } from './payloads.js';

const { port } = parseArgs(process.argv);
const path = process.argv[4];
if (!path) throw new Error(`usage: ${process.argv[1] ?? 'server'} <port> <pageBytes> <database path>`);

// Opened before the writer starts, so the table exists before the page statement is prepared.
const log = openLog(path);
const pageAfter = logPageReader(log);
const writer = new Worker(new URL('./durable-writer.js', import.meta.url), { workerData: { path } });
const waiting = new Map<number, { res: Response; body: string }>();
let outbox: Append[] = [];
let nextId = 1;

interface PageRead {
  readonly res: Response;
  readonly cursor: number;
  readonly limit: number;
}

/** Long-polls waiting for the next commit. */
let held: PageRead[] = [];
const streams = new Set<Response>();
let newest = log.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM log').pluck().get() ?? 0;

// The least a page can be: the stored bodies as they are, inside one element.
const PAGE_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">';
const PAGE_TAIL = '</feed>';

function sendPage({ res, cursor, limit }: PageRead): void {
  const rows = pageAfter.all(cursor, limit);
  let page = PAGE_HEAD;
  for (const [, body] of rows) page += body;
  res.status(200).set({ 'content-type': ATOM_CONTENT_TYPE, xlastid: String(rows.at(-1)?.[0] ?? cursor) }).send(page + PAGE_TAIL);
}

writer.on('message', ({ ids, seqs }: Committed) => {
  ids.forEach((id, i) => {
    const write = waiting.get(id);
    waiting.delete(id);
    const seq = seqs[i] ?? 0;
    if (!write) return;
    const { res, body } = write;
    res.status(201).set({
      'content-type': ATOM_CONTENT_TYPE,
      location: `${res.req.protocol}://${res.req.get('host') ?? '127.0.0.1'}/feeds/bench/${seq}`,
      xlastid: String(seq),
    }).send(createdEntry(seq));
    const frame = Buffer.from(`id: ${seq}\ndata: ${JSON.stringify({ seq, content: body })}\n\n`);
    for (const stream of streams) stream.write(frame);
  });
  newest = seqs.at(-1) ?? newest;
  const woken = held;
  held = [];
  for (const read of woken) sendPage(read);
});

const app = express();
app.set('etag', false);
app.disable('x-powered-by');

app.post('/feeds/:name', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
  const id = nextId++;
  const body = (req.body as Buffer).toString('utf8');
  waiting.set(id, { res, body });
  // A turn's bodies cross to the writer in one message, as AtomMQ's store sends them.
  if (outbox.length === 0) {
    setImmediate(() => {
      writer.postMessage(outbox);
      outbox = [];
    });
  }
  outbox.push({ id, body });
});

app.get('/feeds/:name', (req, res) => {
  if ((req.get('accept') ?? '').includes('text/event-stream')) {
    res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'close' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    res.once('close', () => streams.delete(res));
    return;
  }
  const read = { res, cursor: Number(req.get('xlastid') ?? 0), limit: Number(req.query.limit ?? PAGE_ENTRIES) };
  if (req.query.wait !== undefined && read.cursor >= newest) held.push(read);
  else sendPage(read);
});

app.get('/healthz', (_req, res) => {
  res.status(200).type('text/plain').send('ok');
});

app.listen(port, '127.0.0.1');
