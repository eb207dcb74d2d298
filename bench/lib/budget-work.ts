/**
 * The work AtomMQ does on a message that the durable floor does not, each piece alone in this
 * process, through AtomMQ's own code: parsing and checking a posted entry, rendering what is stored,
 * writing its row, and reading a page of such rows. CPU time (all of this process's threads, so the
 * garbage collector's too) per call, the median of several loops.
 */
import { join } from 'node:path';
import { parseEntryXml } from '../../src/atom/parse-entry.js';
import { defaultFeedConfig } from '../../src/config/feed-config.js';
import { entryRevision, newEntryUuid } from '../../src/http/atompub/revision.js';
import type { AppendRequest, Revision } from '../../src/store/store.js';
import { FeedReads } from '../../src/store/sqlite/feed-reads.js';
import { openDatabase, SqliteWriter } from '../../src/store/sqlite/writer.js';
import { logAppender, logPageReader, openLog } from '../baselines/durable-log.js';
import { median } from './stats.js';
import { FEED } from './servers.js';
import { PAGE_LIMIT, POST_BODY } from './workload.js';

/** Timed loops per measurement; one untimed loop goes first. */
const LOOPS = 7;

/** CPU µs per unit of `work` (which does `units` of it), GC included: the median of LOOPS timed loops after one untimed. */
export function cpuPerUnit(work: () => void, units: number): number {
  work();
  const samples: number[] = [];
  for (let i = 0; i < LOOPS; i++) {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / units);
  }
  return median(samples);
}

const repeat = (times: number, once: () => void) => (): void => {
  for (let i = 0; i < times; i++) once();
};

const feed = defaultFeedConfig(FEED);

/** What AtomMQ stores for the bench's entry: its Atom and JSON forms, under a fresh UUID. */
export function benchRevision(): { key: string; revision: Revision } {
  const key = newEntryUuid();
  const now = new Date().toISOString();
  return { key, revision: entryRevision(feed, parseEntryXml(POST_BODY), { key, atomId: `urn:uuid:${key}`, published: now }, now) };
}

/** Parsing and checking the bench's posted entry, as a POST does. */
export function parseCost(): number {
  return cpuPerUnit(repeat(20_000, () => parseEntryXml(POST_BODY)), 20_000);
}

/** Rendering the stored forms (Atom and JSON) of the parsed entry, as a POST does. */
export function renderCost(): number {
  const entry = parseEntryXml(POST_BODY);
  return cpuPerUnit(repeat(20_000, () => {
    const key = newEntryUuid();
    const now = new Date().toISOString();
    entryRevision(feed, entry, { key, atomId: `urn:uuid:${key}`, published: now }, now);
  }), 20_000);
}

function appendOf(): AppendRequest {
  return { feed: FEED, candidates: [benchRevision()] };
}

/**
 * CPU per row committed, fsync included, in commits of `batch` rows: AtomMQ's row (both forms, its
 * indexes) through its writer, and the floor's (the posted bytes, no index) through the floor's log.
 */
export function writeCosts(dir: string, batch: number, commits = 60): { atommq: number; floor: number } {
  const writer = new SqliteWriter(openDatabase(join(dir, 'write-atommq.db'), 'fsync'));
  const log = openLog(join(dir, 'write-floor.db'));
  log.pragma('synchronous = FULL');
  const commitFloor = logAppender(log);
  try {
    // The requests are built outside the timed loops: building them is the HTTP thread's work, measured above.
    const requests = Array.from({ length: commits * (LOOPS + 1) }, () => Array.from({ length: batch }, () => ({ op: 'append', request: appendOf() }) as const));
    let next = 0;
    const bodies = Array.from({ length: batch }, () => POST_BODY);
    return {
      atommq: cpuPerUnit(repeat(commits, () => writer.commit(requests[next++] ?? [])), commits * batch),
      floor: cpuPerUnit(repeat(commits, () => commitFloor(bodies)), commits * batch),
    };
  } finally {
    writer.db.close();
    log.close();
  }
}

/**
 * CPU per page read from a table of `entries` rows of AtomMQ's Atom form of the bench's entry:
 * AtomMQ's read (row by row within its byte budget, with the feed's bounds, in one transaction) and
 * the floor's (`.all()` of the next rows, which the floor's table holds as the same Atom text).
 */
export function readCosts(dir: string, entries: number, pageBytes: number): { atommq: number; floor: number } {
  const db = openDatabase(join(dir, 'read-atommq.db'), 'fsync');
  new SqliteWriter(db).commit(Array.from({ length: entries }, () => ({ op: 'append', request: appendOf() }) as const));
  const log = openLog(join(dir, 'read-floor.db'));
  logAppender(log)(Array.from({ length: entries }, () => benchRevision().revision.xml));
  const reads = new FeedReads(db);
  const floorPage = logPageReader(log);
  const cursors = Array.from({ length: 1_000 }, () => Math.floor(Math.random() * (entries - PAGE_LIMIT)));
  let i = 0;
  const cursor = (): number => cursors[i++ % cursors.length] as number;
  try {
    return {
      atommq: cpuPerUnit(repeat(2_000, () => reads.readAfter(FEED, cursor(), { limit: PAGE_LIMIT, maxBytes: pageBytes, only: 'xml', withBounds: true })), 2_000),
      floor: cpuPerUnit(repeat(2_000, () => floorPage.all(cursor(), PAGE_LIMIT)), 2_000),
    };
  } finally {
    db.close();
    log.close();
  }
}
