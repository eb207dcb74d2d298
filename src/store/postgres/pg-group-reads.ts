import type pg from 'pg';
import type { GroupBackend } from '../checked-groups.js';
import { describeGroup, oldestUnacked, type GroupRow, type Tally } from '../group-rules.js';
import type { DeadMessage, GroupRef, GroupStatus } from '../groups.js';
import type { Change, Representation } from '../store.js';
import { guarded, statement } from './pg-connection.js';
import { existingGroup, GROUP_COLUMNS, isDead, nextDue } from './pg-group-sql.js';
import { changeColumns, toChange } from './pg-pages.js';

const GROUPS = statement('atommq.groups', `SELECT ${GROUP_COLUMNS} FROM atommq_groups WHERE feed = $1 ORDER BY name`);
/** Joined with entries: a message whose entry was replaced, deleted or pruned is no longer the group's. */
const TALLY = statement('atommq.group.tally', `
  SELECT count(*) AS total,
    count(*) FILTER (WHERE m.state = 'leased' AND m.due_ms > $2) AS pending,
    count(*) FILTER (WHERE ${isDead('$2', '$3')}) AS dead,
    count(*) FILTER (WHERE m.deliveries = 0) AS delayed,
    min(m.seq) FILTER (WHERE NOT ${isDead('$2', '$3')}) AS lowest
  FROM atommq_group_messages m JOIN atommq_entries e ON e.seq = m.seq WHERE m.grp = $1`);
/** The first live entry beyond the position, and how many there are. */
const BEYOND = statement('atommq.group.beyond', `
  SELECT (SELECT seq FROM atommq_entries WHERE feed = $1 AND NOT deleted AND seq > $2 ORDER BY seq LIMIT 1) AS first,
    (SELECT count(*) FROM atommq_entries WHERE feed = $1 AND NOT deleted AND seq > $2) AS lagging`);
const EDITED = statement('atommq.entry.edited', 'SELECT edited_ms FROM atommq_entries WHERE seq = $1');
const DEAD: Record<Representation | 'both', ReturnType<typeof statement>> = { both: dead(undefined), xml: dead('xml'), json: dead('json') };

function dead(only: Representation | undefined): ReturnType<typeof statement> {
  return statement(`atommq.group.dead.${only ?? 'both'}`, `
    SELECT ${changeColumns(only)}, m.deliveries, m.reason FROM atommq_group_messages m JOIN atommq_entries e ON e.seq = m.seq
    WHERE m.grp = $1 AND m.seq > $2 AND ${isDead('$4', '$5')} ORDER BY m.seq LIMIT $3`);
}

/** Group status and dead lists, read from the pool outside any write batch. */
export function groupReads(pool: pg.Pool): Omit<GroupBackend, 'commit'> {
  const describe = async (group: GroupRow, now: number): Promise<GroupStatus> => {
    const tally = (await pool.query<Tally>(TALLY([group.id, now, group.max_deliveries]))).rows[0]!;
    const beyond = (await pool.query<{ first: number | null; lagging: number }>(BEYOND([group.feed, group.position]))).rows[0]!;
    const oldest = oldestUnacked(tally, beyond.first ?? undefined);
    const edited = oldest === undefined ? undefined : (await pool.query<{ edited_ms: number }>(EDITED([oldest]))).rows[0]?.edited_ms;
    return describeGroup(group, { tally, lagging: beyond.lagging, oldestEditedMs: edited, nextDue: await nextDue(pool, group, now) }, now);
  };
  return {
    status: (ref: GroupRef) => guarded(async () => describe(await existingGroup(pool, ref), Date.now())),
    list: (feed: string) => guarded(async () => {
      const now = Date.now();
      return Promise.all((await pool.query<GroupRow>(GROUPS([feed]))).rows.map((group) => describe(group, now)));
    }),
    readDead: (ref: GroupRef, after: number, limit: number, only: Representation | undefined) => guarded(async () => {
      const group = await existingGroup(pool, ref);
      const { rows } = await pool.query<Change & { deliveries: number; reason: string | null }>(
        DEAD[only ?? 'both']([group.id, after, limit, Date.now(), group.max_deliveries]));
      return rows.map((row): DeadMessage => ({ ...toChange(row), deliveries: row.deliveries, reason: row.reason ?? undefined }));
    }),
    nextDue: (ref: GroupRef) => guarded(async () => nextDue(pool, await existingGroup(pool, ref), Date.now())),
  };
}
