import type pg from 'pg';
import type { Change, Page, PageRequest, Representation, StoredEntry } from '../store.js';
import { gapAfter, refuseAhead } from '../read-rules.js';
import { statement } from './pg-connection.js';

/** A row of atommq_entries as StoredEntry needs it. */
export interface EntryRow {
  seq: number;
  feed: string;
  key: string;
  atom_id: string;
  deleted: boolean;
  published: string;
  edited: string;
  xml: string;
  json: string;
}

export const ENTRY_COLUMNS = 'seq, feed, key, atom_id, deleted, published, edited, xml, json';

export function toEntry(row: EntryRow): StoredEntry {
  return {
    seq: row.seq, feed: row.feed, key: row.key, atomId: row.atom_id, deleted: row.deleted,
    published: row.published, edited: row.edited, xml: row.xml, json: row.json,
  };
}

/** A Change's columns of `e`; a rendered form the read does not need is an empty string. */
export function changeColumns(only: Representation | undefined): string {
  return `e.seq, e.deleted, e.edited, ${only === 'json' ? "''" : 'e.xml'} AS xml, ${only === 'xml' ? "''" : 'e.json'} AS json`;
}

export function toChange(row: Change): Change {
  return { seq: row.seq, deleted: row.deleted, edited: row.edited, xml: row.xml, json: row.json };
}

type Direction = 'ASC' | 'DESC';

/**
 * A page query: at most `$limit` rows matching `where` (over `e`), stopping before the row that
 * would take the rendered forms loaded past `$maxBytes`, one row at least. The sizes are summed
 * over the stored lengths first (octet_length reads them without loading the text), so a page of
 * large entries loads only what it returns; `found` tells whether more follow.
 * Parameters: `$1` and `$2` are `where`'s, `$3` the limit, `$4` the byte budget.
 */
function pageSql(columns: string, where: string, direction: Direction, only: Representation | undefined): string {
  const size = only === 'xml' ? 'octet_length(xml)' : only === 'json' ? 'octet_length(json)' : 'octet_length(xml) + octet_length(json)';
  return `
    SELECT ${columns}, p.found FROM (
      SELECT s.seq, count(*) OVER () AS found, row_number() OVER w AS n, sum(s.size) OVER w AS total
      FROM (SELECT e.seq, ${size} AS size FROM atommq_entries e WHERE ${where} ORDER BY e.seq ${direction} LIMIT $3::integer + 1) s
      WINDOW w AS (ORDER BY s.seq ${direction} ROWS UNBOUNDED PRECEDING)
    ) p JOIN atommq_entries e ON e.seq = p.seq
    WHERE p.n <= $3 AND (p.n = 1 OR p.total <= $4)
    ORDER BY e.seq ${direction}`;
}

/** One prepared page statement per direction and set of columns. */
function pageStatements(name: string, where: string, direction: Direction, sql = pageSql): Record<Representation | 'both', ReturnType<typeof statement>> {
  const make = (only: Representation | undefined): ReturnType<typeof statement> =>
    statement(`atommq.${name}.${only ?? 'both'}`, sql(changeColumns(only), where, direction, only));
  return { both: make(undefined), xml: make('xml'), json: make('json') };
}

/**
 * The cursor page with, in the same statement and so the same snapshot, the feed's retention
 * watermark and the log's head: one row of those with the page's columns null when the page is empty.
 */
function afterSql(columns: string, where: string, direction: Direction, only: Representation | undefined): string {
  return `
    SELECT r.*, w.first_seq, w.through_seq, w.head FROM (
      SELECT (SELECT first_seq FROM atommq_pruned WHERE feed = $1) AS first_seq, (SELECT through_seq FROM atommq_pruned WHERE feed = $1) AS through_seq,
        (SELECT seq FROM atommq_head WHERE id = 1) AS head
    ) w LEFT JOIN LATERAL (${pageSql(columns, where, direction, only)}) r ON true
    ORDER BY r.seq`;
}

const AFTER = pageStatements('after', 'e.feed = $1 AND e.seq > $2', 'ASC', afterSql);
const BEFORE = pageStatements('before', 'e.feed = $1 AND NOT e.deleted AND e.seq < $2', 'DESC');
/** Every feed's changes in a range of seqs, as a server reads what other servers committed. */
const RANGE = statement('atommq.range', pageSql(ENTRY_COLUMNS.split(', ').map((c) => `e.${c}`).join(', '), 'e.seq > $1 AND e.seq <= $2', 'ASC', undefined));

type Counted<T> = T & { found: number };

function paged<T>(rows: Array<Counted<T>>): { rows: T[]; more: boolean } {
  return { rows, more: rows.length > 0 && (rows[0] as Counted<T>).found > rows.length };
}

function budget(page: PageRequest): number {
  return page.maxBytes ?? Number.MAX_SAFE_INTEGER;
}

type Watermarked = Counted<Change> & { first_seq: number | null; through_seq: number | null; head: number };

/** A cursor page, with its gap; throws CURSOR_AHEAD (see `Store.readAfter`). */
export async function readAfter(db: pg.Pool, feed: string, seq: number, page: PageRequest): Promise<Page> {
  const all = (await db.query<Watermarked>(AFTER[page.only ?? 'both']([feed, seq, page.limit, budget(page)]))).rows;
  const w = all[0]!;
  const { rows, more } = paged(all.filter((row) => row.seq !== null));
  if (rows.length === 0) refuseAhead(seq, w.head);
  const gap = gapAfter(seq, w.through_seq === null ? undefined : { first: w.first_seq!, through: w.through_seq });
  const changes = rows.map(toChange);
  return gap ? { changes, more, gap } : { changes, more };
}

export async function readBefore(db: pg.Pool, feed: string, seq: number, page: PageRequest): Promise<Page> {
  const { rows, more } = paged((await db.query<Counted<Change>>(BEFORE[page.only ?? 'both']([feed, seq, page.limit, budget(page)]))).rows);
  return { changes: rows.map(toChange), more };
}

/** Changes of every feed with seq in (after, upTo], oldest first, one bounded page. */
export async function readRange(db: pg.Pool, after: number, upTo: number, page: PageRequest): Promise<{ entries: StoredEntry[]; more: boolean }> {
  const { rows, more } = paged((await db.query<Counted<EntryRow>>(RANGE([after, upTo, page.limit, budget(page)]))).rows);
  return { entries: rows.map(toEntry), more };
}
