import type Database from 'better-sqlite3';
import { gapAfter, refuseAhead } from '../read-rules.js';
import type { Change, FeedBounds, Page, PageRequest, Representation } from '../store.js';
import { changeColumns, toChange, type ChangeRow } from './schema.js';

type PageStatement = Database.Statement<[string, number, number], ChangeRow>;

/** What a page read needs to know of its feed besides the page: one row, in BoundsRow's order. */
const BOUNDS_SQL = `SELECT
  (SELECT seq FROM entries WHERE feed = @feed ORDER BY seq DESC LIMIT 1),
  (SELECT edited FROM entries WHERE feed = @feed ORDER BY seq DESC LIMIT 1),
  (SELECT seq FROM entries WHERE feed = @feed ORDER BY seq LIMIT 1),
  (SELECT removed FROM pruned WHERE feed = @feed),
  (SELECT first_seq FROM pruned WHERE feed = @feed),
  (SELECT through_seq FROM pruned WHERE feed = @feed),
  -- AUTOINCREMENT keeps the highest seq it ever handed out here, whatever was deleted since.
  (SELECT seq FROM sqlite_sequence WHERE name = 'entries')`;

type BoundsRow = [newest: number | null, edited: string | null, oldest: number | null, removed: number | null,
  firstPruned: number | null, throughPruned: number | null, assigned: number | null];

function toBounds(row: BoundsRow): FeedBounds {
  return { newestSeq: row[0] ?? 0, newestEdited: row[1] ?? undefined, oldestSeq: row[2] ?? 0, pruned: row[3] ?? 0 };
}

/**
 * Page and bounds reads on the store's reading connection. Each statement outside a transaction
 * takes and releases SQLite's read lock (system calls, ~8 µs here), which cost more than the
 * lookups themselves: the bounds are one statement, and a page with its bounds one transaction.
 */
export class FeedReads {
  private readonly after: Record<Representation | 'both', PageStatement>;
  private readonly before: Record<Representation | 'both', PageStatement>;
  private readonly boundsRow: Database.Statement<{ feed: string }, BoundsRow>;
  readonly readAfter: (feed: string, seq: number, page: PageRequest) => Page;
  readonly readBefore: (feed: string, seq: number, page: PageRequest) => Page;

  constructor(db: Database.Database) {
    this.after = byRepresentation((columns) => db.prepare<[string, number, number], ChangeRow>(
      `SELECT ${columns} FROM entries WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?`).raw(true));
    this.before = byRepresentation((columns) => db.prepare<[string, number, number], ChangeRow>(
      `SELECT ${columns} FROM entries WHERE feed = ? AND deleted = 0 AND seq < ? ORDER BY seq DESC LIMIT ?`).raw(true));
    this.boundsRow = db.prepare<{ feed: string }, BoundsRow>(BOUNDS_SQL).raw(true);
    // One snapshot: a prune committed between the page and the watermark would otherwise hide a gap.
    this.readAfter = db.transaction((feed: string, seq: number, page: PageRequest): Page => {
      const row = this.boundsRow.get({ feed }) as BoundsRow;
      const read = readPage(this.after[page.only ?? 'both'], feed, seq, page);
      if (read.changes.length === 0) refuseAhead(seq, row[6] ?? 0);
      const gap = gapAfter(seq, row[5] === null ? undefined : { first: row[4] as number, through: row[5] });
      return { ...read, ...(gap && { gap }), ...(page.withBounds && { bounds: toBounds(row) }) };
    });
    this.readBefore = db.transaction((feed: string, seq: number, page: PageRequest): Page => {
      const read = readPage(this.before[page.only ?? 'both'], feed, seq, page);
      return page.withBounds ? { ...read, bounds: this.bounds(feed) } : read;
    });
  }

  bounds(feed: string): FeedBounds {
    return toBounds(this.boundsRow.get({ feed }) as BoundsRow);
  }
}

/**
 * Steps through the rows one at a time and stops at the page's count or size, so a page of large
 * entries never loads more than its budget and the one row that tells that more follow (`.all()`
 * would load every row the LIMIT allows first).
 */
function readPage(statement: PageStatement, feed: string, seq: number, page: PageRequest): Page {
  const changes: Change[] = [];
  const maxBytes = page.maxBytes ?? Infinity;
  let bytes = 0;
  for (const row of statement.iterate(feed, seq, page.limit + 1)) {
    const size = row[3].length + row[4].length;
    // Leaving the loop resets the statement: the rows after this one are never read.
    if (changes.length === page.limit || (changes.length > 0 && bytes + size > maxBytes)) return { changes, more: true };
    changes.push(toChange(row));
    bytes += size;
  }
  return { changes, more: false };
}

/** One prepared statement per set of columns a page read may load. */
function byRepresentation<T>(prepare: (columns: string) => T): Record<Representation | 'both', T> {
  return { both: prepare(changeColumns(undefined)), xml: prepare(changeColumns('xml')), json: prepare(changeColumns('json')) };
}
