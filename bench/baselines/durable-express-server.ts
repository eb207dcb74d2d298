/**
 * Durable floor: bare Express 5 whose POST handler does the least a durable publish needs, and no
 * more. The body goes to a writer thread that commits it to SQLite (WAL, one fsync per group
 * commit, as AtomMQ commits), and the 201 goes out after the commit. No Atom parsing, no
 * rendering, no secondary index: what Express plus fsync durability costs on this machine, so
 * AtomMQ's POST figures can be read against it as well as against the bare servers.
 *
 * A GET with an `Xlastid` at the newest seq is held until the next commit and then answered with
 * its seq: the least a long-poll woken by a durable commit costs, for the wake-latency figures.
 *
 * argv: <port> [pageBytes] <database path>
 */
import express, { type Response } from 'express';
import { Worker } from 'node:worker_threads';
import type { Append, Committed } from './durable-writer.js';
import { ATOM_CONTENT_TYPE, createdEntry, parseArgs } from './payloads.js';

const { port } = parseArgs(process.argv);
const path = process.argv[4];
if (!path) throw new Error(`usage: ${process.argv[1] ?? 'server'} <port> <pageBytes> <database path>`);

const writer = new Worker(new URL('./durable-writer.js', import.meta.url), { workerData: { path } });
const waiting = new Map<number, Response>();
let outbox: Append[] = [];
let nextId = 1;
/** Long-polls waiting for the next commit. */
let held: Response[] = [];
let newest = 0;

function answerPoll(res: Response): void {
  res.status(200).set({ 'content-type': ATOM_CONTENT_TYPE, xlastid: String(newest) }).send(createdEntry(newest));
}

writer.on('message', ({ ids, seqs }: Committed) => {
  ids.forEach((id, i) => {
    const res = waiting.get(id);
    waiting.delete(id);
    const seq = seqs[i] ?? 0;
    res?.status(201).set({
      'content-type': ATOM_CONTENT_TYPE,
      location: `${res.req.protocol}://${res.req.get('host') ?? '127.0.0.1'}/feeds/bench/${seq}`,
      xlastid: String(seq),
    }).send(createdEntry(seq));
  });
  newest = seqs.at(-1) ?? newest;
  const woken = held;
  held = [];
  for (const res of woken) answerPoll(res);
});

const app = express();
app.set('etag', false);
app.disable('x-powered-by');

app.post('/feeds/bench', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
  const id = nextId++;
  waiting.set(id, res);
  // A turn's bodies cross to the writer in one message, as AtomMQ's store sends them.
  if (outbox.length === 0) {
    setImmediate(() => {
      writer.postMessage(outbox);
      outbox = [];
    });
  }
  outbox.push({ id, body: (req.body as Buffer).toString('utf8') });
});

app.get('/feeds/bench', (req, res) => {
  if (Number(req.get('xlastid') ?? 0) < newest) answerPoll(res);
  else held.push(res);
});

app.get('/healthz', (_req, res) => {
  res.status(200).type('text/plain').send('ok');
});

app.listen(port, '127.0.0.1');
