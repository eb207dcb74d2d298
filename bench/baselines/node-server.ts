/**
 * Bare node:http baseline: the floor cost of answering AtomMQ's two hot
 * routes with bodies of the same size, with no framework, parsing or storage.
 */
import { createServer } from 'node:http';
import { ATOM_CONTENT_TYPE, createdEntry, feedPage, parseArgs } from './payloads.js';

const { port, pageBytes } = parseArgs(process.argv);
const page = Buffer.from(feedPage(pageBytes));
let seq = 0;

const server = createServer((req, res) => {
  const path = req.url?.split('?', 1)[0];
  if (req.method === 'POST' && path === '/feeds/bench') {
    // Read the whole body, as a real server must before it can answer 201.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (Buffer.concat(chunks).length === 0) {
        res.writeHead(400);
        res.end();
        return;
      }
      seq++;
      const body = createdEntry(seq);
      res.writeHead(201, {
        'content-type': ATOM_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
        location: `http://${req.headers.host ?? '127.0.0.1'}/feeds/bench/${seq}`,
        xlastid: String(seq),
      });
      res.end(body);
    });
    return;
  }
  if (req.method === 'GET' && path === '/feeds/bench') {
    res.writeHead(200, { 'content-type': ATOM_CONTENT_TYPE, 'content-length': page.length, xlastid: '1050' });
    res.end(page);
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  res.writeHead(404);
  res.end();
});

server.listen(port, '127.0.0.1');
