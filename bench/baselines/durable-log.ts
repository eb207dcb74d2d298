/**
 * The durable floor's log: one SQLite table in WAL mode, opened by the writer thread (which
 * appends) and by the HTTP thread (which reads pages from it, as AtomMQ reads on its HTTP thread).
 */
import Database from 'better-sqlite3';

/** Opens the log, creating it if need be: whichever thread opens it first finds it ready. */
export function openLog(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)');
  return db;
}

/** Appends bodies in one transaction (one commit, one fsync) and answers their seqs, in order. */
export function logAppender(db: Database.Database): (bodies: readonly string[]) => number[] {
  const insert = db.prepare<[string], never>('INSERT INTO log (body) VALUES (?)');
  return db.transaction((bodies: readonly string[]) => bodies.map((body) => Number(insert.run(body).lastInsertRowid)));
}

/** The floor's page read: the next rows after a seq, at most a limit, as [seq, body]. */
export function logPageReader(db: Database.Database): Database.Statement<[number, number], [number, string]> {
  return db.prepare<[number, number], [number, string]>('SELECT seq, body FROM log WHERE seq > ? ORDER BY seq LIMIT ?').raw(true);
}
