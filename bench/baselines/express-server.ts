/**
 * Bare Express 5 baseline: what AtomMQ's routes would cost with the same
 * framework and body sizes but no Atom parsing, storage or fsync.
 */
import express from 'express';
import { ATOM_CONTENT_TYPE, createdEntry, feedPage, parseArgs } from './payloads.js';

const { port, pageBytes } = parseArgs(process.argv);
const page = Buffer.from(feedPage(pageBytes));
let seq = 0;

const app = express();
// A baseline should measure the framework's floor; ETag generation would hash
// every 40 KiB page and is an optional feature, not an inherent cost.
app.set('etag', false);
app.disable('x-powered-by');

// express.raw reads the whole body into a Buffer, whatever the content type.
app.post('/feeds/bench', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
  seq++;
  res
    .status(201)
    .set({
      'content-type': ATOM_CONTENT_TYPE,
      location: `${req.protocol}://${req.get('host') ?? '127.0.0.1'}/feeds/bench/${seq}`,
      xlastid: String(seq),
    })
    .send(createdEntry(seq));
});

app.get('/feeds/bench', (_req, res) => {
  res.status(200).set({ 'content-type': ATOM_CONTENT_TYPE, xlastid: '1050' }).send(page);
});

app.get('/healthz', (_req, res) => {
  res.status(200).type('text/plain').send('ok');
});

app.listen(port, '127.0.0.1');
