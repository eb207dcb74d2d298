/** The queue faces' records on PostgreSQL, as sqlite/queue-table.ts keeps them on SQLite. */
import type { QueueChange, QueuePolicy, QueueRecord } from '../queues.js';
import { statement } from './pg-connection.js';
import type { Db } from './pg-group-sql.js';

interface QueueRow {
  name: string;
  auto_created: boolean;
  policy: QueuePolicy | null;
  stopped: boolean;
}

const COLUMNS = 'name, auto_created, policy, stopped';
// COLLATE "C": byte order, as SQLite lists them, whatever the database's collation.
const LIST = statement('atommq.queues.list', `SELECT ${COLUMNS} FROM atommq_queues ORDER BY name COLLATE "C"`);
/** An upsert that answers the row; $3 says whether the change sets the policy, $5 is null when it leaves `stopped` alone. */
const UPSERT = statement('atommq.queues.upsert', `
  INSERT INTO atommq_queues AS q (name, auto_created, policy, stopped) VALUES ($1, $2, $4, COALESCE($5, false))
  ON CONFLICT (name) DO UPDATE SET
    auto_created = q.auto_created OR excluded.auto_created,
    policy = CASE WHEN $3 THEN $4 ELSE q.policy END,
    stopped = COALESCE($5, q.stopped)
  RETURNING ${COLUMNS}`);

function toRecord(row: QueueRow): QueueRecord {
  return { name: row.name, autoCreated: row.auto_created, policy: row.policy ?? undefined, stopped: row.stopped };
}

export async function listQueues(db: Db): Promise<QueueRecord[]> {
  return (await db.query<QueueRow>(LIST([]))).rows.map(toRecord);
}

/** The one write, inside a write batch. */
export async function updateQueue(db: Db, change: QueueChange): Promise<QueueRecord> {
  const setPolicy = change.policy !== undefined;
  const { rows } = await db.query<QueueRow>(UPSERT([change.name, change.autoCreated === true, setPolicy,
    setPolicy ? change.policy ?? null : null, change.stopped ?? null]));
  return toRecord(rows[0]!);
}
