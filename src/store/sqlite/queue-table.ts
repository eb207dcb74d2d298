import type Database from 'better-sqlite3';
import type { QueueChange, QueuePolicy, QueueRecord } from '../queues.js';

/**
 * One row per queue the faces know something about (see store/queues.ts). A feed that only has a
 * feed file and was never given a policy or a status over HTTP has no row.
 */
const QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS queues (
  name TEXT PRIMARY KEY,
  auto_created INTEGER NOT NULL DEFAULT 0,
  policy TEXT CHECK (policy IN ('broadcast', 'roundrobin')),
  stopped INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`;

export function applyQueueSchema(db: Database.Database): void {
  db.exec(QUEUE_SCHEMA);
}

interface QueueRow {
  name: string;
  auto_created: number;
  policy: QueuePolicy | null;
  stopped: number;
}

const COLUMNS = 'name, auto_created, policy, stopped';

function toRecord(row: QueueRow): QueueRecord {
  return { name: row.name, autoCreated: row.auto_created === 1, policy: row.policy ?? undefined, stopped: row.stopped === 1 };
}

/** Reads, on whichever connection is given (the store's reading one). */
export class QueueReads {
  private readonly all;

  constructor(db: Database.Database) {
    this.all = db.prepare<[], QueueRow>(`SELECT ${COLUMNS} FROM queues ORDER BY name`);
  }

  list(): QueueRecord[] {
    return this.all.all().map(toRecord);
  }
}

type UpdateParams = { name: string; auto: number; setPolicy: number; policy: QueuePolicy | null; stopped: number | null };

/** The one write, run by the writer thread inside its transaction: an upsert that answers the row. */
export class QueueWriter {
  private readonly upsert;

  constructor(db: Database.Database) {
    this.upsert = db.prepare<UpdateParams, QueueRow>(`
      INSERT INTO queues (name, auto_created, policy, stopped) VALUES (:name, :auto, :policy, COALESCE(:stopped, 0))
      ON CONFLICT (name) DO UPDATE SET
        auto_created = MAX(auto_created, :auto),
        policy = CASE WHEN :setPolicy THEN :policy ELSE policy END,
        stopped = COALESCE(:stopped, stopped)
      RETURNING ${COLUMNS}`);
  }

  update(change: QueueChange): QueueRecord {
    const setPolicy = change.policy !== undefined;
    return toRecord(this.upsert.get({
      name: change.name,
      auto: change.autoCreated ? 1 : 0,
      setPolicy: setPolicy ? 1 : 0,
      policy: setPolicy ? change.policy ?? null : null,
      stopped: change.stopped === undefined ? null : Number(change.stopped),
    }) as QueueRow);
  }
}
