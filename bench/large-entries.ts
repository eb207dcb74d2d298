/**
 * Memory with large entries (`node dist/bench/large-entries.js [path/to/cli.js]`): what readers
 * that stop reading cost the server, and whether feeds of multi-MiB entries stay readable.
 *
 * 1. backlog: 200 entries of 400 KB; SSE readers at `Xlastid: 0` that never read, 1, 10 and 20 of
 *    them; the server's VmRSS once it has stopped growing.
 * 2. quotes: 90 entries whose content is 1,048,000 `"` characters; the status of a cursor and a
 *    collection GET, whether following next reaches all 90, then six GETs that never read, the
 *    server's VmRSS and how long /healthz takes meanwhile.
 *
 * The optional argument runs another build (e.g. one of the main branch) for comparison.
 */
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchWorkDir, startChildServer, type ChildServer } from './lib/child.js';
import { atomMqCli, repoRoot } from './lib/paths.js';
import { freePort } from './lib/ports.js';
import { rssOf } from './lib/proc.js';
import { atomMqPaths, FEED } from './lib/servers.js';

const cli = process.argv[2] ?? atomMqCli;
const MIB = 1024 * 1024;

function rssMiB(pid: number): number {
  return Math.round(rssOf(pid) / MIB);
}

/** The RSS once it has not grown by more than 1 MiB for a second (or after 20 s). */
async function settledRss(pid: number): Promise<number> {
  let last = rssMiB(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    const now = rssMiB(pid);
    if (now - last <= 1) return now;
    last = now;
  }
  return last;
}

async function start(workDir: string, name: string): Promise<ChildServer> {
  const { dir, feedsDir, dbPath } = atomMqPaths(workDir, name);
  const port = await freePort();
  return startChildServer({
    name, script: cli, port, cwd: repoRoot, logFile: join(dir, 'server.log'),
    args: ['serve', '--port', String(port), '--host', '127.0.0.1', '--feeds', feedsDir, '--db', `sqlite:${dbPath}`,
      '--durability', 'lose-on-power-failure', '--log-level', 'warn'],
  });
}

async function publish(server: ChildServer, count: number, content: string): Promise<void> {
  const body = `<entry xmlns="http://www.w3.org/2005/Atom"><title>big</title><content type="text">${content}</content></entry>`;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${server.baseUrl}/feeds/${FEED}`, { method: 'POST', headers: { 'Content-Type': 'application/atom+xml' }, body });
    if (res.status !== 201) throw new Error(`POST ${i}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
}

/** A GET on its own connection whose answer is never read. */
function stalledGet(server: ChildServer, path: string, headers: Record<string, string>): Socket {
  const url = new URL(server.baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.pause();
  socket.on('error', () => {});
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
  socket.write(lines.join('\r\n'));
  return socket;
}

async function backlog(workDir: string): Promise<void> {
  const server = await start(workDir, 'backlog');
  const sockets: Socket[] = [];
  try {
    await publish(server, 200, 'b'.repeat(400_000));
    console.log(`backlog: 200 entries of 400 KB; RSS at rest ${await settledRss(server.pid)} MiB`);
    for (const target of [1, 10, 20]) {
      while (sockets.length < target) {
        sockets.push(stalledGet(server, `/feeds/${FEED}`, { Accept: 'text/event-stream', Xlastid: '0' }));
      }
      console.log(`backlog: ${target} SSE readers at Xlastid 0 that never read: RSS ${await settledRss(server.pid)} MiB`);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.stop();
  }
}

/** Follows next links from the cursor view's first page: statuses and how many entries were reached. */
async function walk(server: ChildServer): Promise<{ statuses: Set<number>; entries: number; pages: number }> {
  const statuses = new Set<number>();
  let entries = 0;
  let pages = 0;
  for (let url: string | undefined = `${server.baseUrl}/feeds/${FEED}?lastid=0`; url;) {
    const res: Response = await fetch(url);
    statuses.add(res.status);
    const body = await res.text();
    pages++;
    entries += body.split('<am:seq>').length - 1;
    url = res.status === 200 ? /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '')?.[1] : undefined;
  }
  return { statuses, entries, pages };
}

async function quotes(workDir: string): Promise<void> {
  const server = await start(workDir, 'quotes');
  const sockets: Socket[] = [];
  try {
    await publish(server, 90, '"'.repeat(1_048_000));
    console.log(`quotes: 90 entries of 1,048,000 '"'; RSS at rest ${await settledRss(server.pid)} MiB`);
    const collection = await fetch(`${server.baseUrl}/feeds/${FEED}`);
    await collection.arrayBuffer();
    const { statuses, entries, pages } = await walk(server);
    console.log(`quotes: collection GET ${collection.status}; cursor view from 0: statuses ${[...statuses].join(',')}, ${entries} entries in ${pages} pages`);
    for (let i = 0; i < 6; i++) sockets.push(stalledGet(server, `/feeds/${FEED}`, i % 2 ? { Xlastid: '0' } : {}));
    const rss = await settledRss(server.pid);
    const started = performance.now();
    const health = await fetch(`${server.baseUrl}/healthz`);
    await health.arrayBuffer();
    console.log(`quotes: 6 GETs that never read: RSS ${rss} MiB; /healthz ${health.status} in ${Math.round(performance.now() - started)} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.stop();
  }
}

const { workDir, cleanUp } = benchWorkDir('atommq-large-');
try {
  console.log(`build: ${cli}; sizes in MiB of ${MIB} bytes`);
  await backlog(workDir);
  await quotes(workDir);
} finally {
  cleanUp();
}
