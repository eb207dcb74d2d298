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
