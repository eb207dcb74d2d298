import type pg from 'pg';

/**
 * The PostgreSQL schema: the same tables as SQLite's (sqlite/schema.ts and sqlite/group-schema.ts
 * say what each column means), prefixed so they can share a database with others, in whichever
 * schema the connection's search_path names.
 *
 * `seq` is not a sequence: each write batch takes it from `atommq_head`, whose one row it locks
 * for the length of its transaction (see pg-writer.ts). `atommq_head.seq` is the newest seq
 * committed, so seqs only grow, are never reused, and commit in order.
 */
const SCHEMA = `
CREATE TABLE atommq_head (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL
);
INSERT INTO atommq_head (id, seq) VALUES (1, 0);
CREATE TABLE atommq_entries (
  seq bigint PRIMARY KEY,
  feed text NOT NULL,
  key text NOT NULL,
  atom_id text NOT NULL,
  idempotency_key text,
  client_id text,
  fingerprint text,
  deleted boolean NOT NULL DEFAULT false,
  published text NOT NULL,
  edited text NOT NULL,
  edited_ms bigint NOT NULL,
  xml text NOT NULL,
  json text NOT NULL,
  deliver_after_ms bigint,
  expires_ms bigint
);
CREATE INDEX atommq_entries_by_feed ON atommq_entries (feed, seq);
CREATE INDEX atommq_entries_live ON atommq_entries (feed, seq) WHERE NOT deleted;
CREATE UNIQUE INDEX atommq_entries_member ON atommq_entries (feed, key);
CREATE UNIQUE INDEX atommq_entries_idempotency ON atommq_entries (feed, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX atommq_entries_client_id ON atommq_entries (feed, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX atommq_entries_atom_id ON atommq_entries (atom_id);
CREATE TABLE atommq_groups (
  id bigserial PRIMARY KEY,
  feed text NOT NULL,
  name text NOT NULL,
  lease_ms bigint NOT NULL,
  max_deliveries integer NOT NULL,
  start text NOT NULL,
  position bigint NOT NULL,
  expired bigint NOT NULL DEFAULT 0,
  created_ms bigint NOT NULL,
  UNIQUE (feed, name)
);
CREATE TABLE atommq_group_messages (
  grp bigint NOT NULL,
  seq bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('leased', 'waiting', 'dead')),
  deliveries integer NOT NULL,
  base integer NOT NULL DEFAULT 0,
  receipt text,
  due_ms bigint,
  reason text,
  PRIMARY KEY (grp, seq)
);
CREATE INDEX atommq_group_messages_due ON atommq_group_messages (grp, due_ms) WHERE due_ms IS NOT NULL;
`;

/** Version 2: retention's watermark per feed, and the queue faces' records (see sqlite/schema.ts and sqlite/queue-table.ts). */
const RETENTION_AND_QUEUES = `
CREATE TABLE atommq_pruned (
  feed text PRIMARY KEY,
  first_seq bigint NOT NULL,
  through_seq bigint NOT NULL,
  removed bigint NOT NULL
);
CREATE TABLE atommq_queues (
  name text PRIMARY KEY,
  auto_created boolean NOT NULL DEFAULT false,
  policy text CHECK (policy IN ('broadcast', 'roundrobin')),
  stopped boolean NOT NULL DEFAULT false
);
`;

/** Each version's DDL, applied in order; a version is never changed once released, only followed. */
const MIGRATIONS: readonly string[] = [SCHEMA, RETENTION_AND_QUEUES];

/**
 * Brings the schema to the current version. A database already there is only read: no lock, no
 * DDL, so a server (re)starting beside running ones changes nothing. Otherwise the migration runs
 * in one transaction under an advisory lock named for the schema: servers starting together wait
 * for each other, and each one that gets the lock after another finds the work done. Answers the
 * versions it applied.
 */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  if ((await version(client)) >= MIGRATIONS.length) return [];
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('atommq.migrate:' || current_schema(), 0))");
    // current_schema() is NULL when no schema of the search_path exists, and CREATE TABLE would
    // then fail with a message that does not say why.
    const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    if (!rows[0]?.schema) throw new Error('no schema of the search_path exists; create it, or name one with options=-c search_path=NAME');
    await client.query('CREATE TABLE IF NOT EXISTS atommq_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied: number[] = [];
    for (let v = await version(client); v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v] as string);
      applied.push(v + 1);
    }
    if (applied.length) await client.query('INSERT INTO atommq_schema (version) SELECT unnest($1::integer[])', [applied]);
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** The version the database is at; 0 when it has no AtomMQ tables. */
async function version(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>("SELECT to_regclass('atommq_schema') IS NOT NULL AS present");
  if (!rows[0]?.present) return 0;
  const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM atommq_schema');
  return result.rows[0]?.version ?? 0;
}
