/**
 * The embedded store: one SQLite file (`<data-dir>/store.db`, through `node:sqlite`), owner-only,
 * in WAL mode. Writes made on the hot path are queued and committed together once per tick.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

const schema = `
CREATE TABLE IF NOT EXISTS app_versions (
  version TEXT PRIMARY KEY, app_name TEXT NOT NULL, meta TEXT NOT NULL, registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS app_files (
  version TEXT NOT NULL, path TEXT NOT NULL, content BLOB NOT NULL, PRIMARY KEY (version, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deployments (
  app_name TEXT PRIMARY KEY, version TEXT NOT NULL, stopped INTEGER NOT NULL,
  deployed_at INTEGER NOT NULL, deploy_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY, app_name TEXT NOT NULL, version TEXT NOT NULL, function TEXT NOT NULL,
  trigger TEXT NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, inputs_closed INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS calls_by_time ON calls (created_at);
CREATE TABLE IF NOT EXISTS call_inputs (
  call_id TEXT NOT NULL, idx INTEGER NOT NULL, args BLOB NOT NULL, outcome BLOB, failed INTEGER,
  PRIMARY KEY (call_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, app_name TEXT NOT NULL,
  function TEXT NOT NULL, call_id TEXT NOT NULL, stream INTEGER NOT NULL, text TEXT NOT NULL,
  server INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_app ON logs (app_name, id);
CREATE TABLE IF NOT EXISTS secrets (
  name TEXT PRIMARY KEY, vals TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, created_at INTEGER NOT NULL,
  max_concurrent INTEGER NOT NULL, max_queued INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, token TEXT NOT NULL, action TEXT NOT NULL,
  app_name TEXT NOT NULL, function TEXT NOT NULL, count INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_token ON audit (token, id);
`;

/** Columns added after a table was first made: added to stores written by earlier servers. */
const addedColumns = [{ table: "calls", column: "caller", definition: "TEXT NOT NULL DEFAULT ''" }];

/** The store's database and its queue of deferred writes. */
export class Database {
  readonly path: string;
  readonly db: DatabaseSync;
  #queued: (() => void)[] = [];
  #committed: PromiseWithResolvers<void> | undefined;
  #onError: (err: Error) => void;

  private constructor(path: string, db: DatabaseSync, onError: (err: Error) => void) {
    this.path = path;
    this.db = db;
    this.#onError = onError;
  }

  /**
   * Opens (or creates) the store in `dataDir`. A file that is not a readable SQLite database is
   * a start-up error naming it, never replaced: the operator decides what to do with it.
   */
  static async open(dataDir: string, onError: (err: Error) => void): Promise<Database> {
    const path = join(dataDir, "store.db");
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
      const check = db.prepare("PRAGMA quick_check").get() as Record<string, string>;
      const verdict = Object.values(check)[0];
      if (verdict !== "ok") throw new Error(`integrity check: ${verdict}`);
      db.exec(schema);
      for (const { table, column, definition } of addedColumns) {
        const columns = db.prepare(`PRAGMA table_info(${table})`).all().map((row) => row.name);
        if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
    } catch (err) {
      db?.close();
      throw new Error(
        `cannot open the store ${path}: ${(err as Error).message}. Nothing was changed; move the file ` +
          `away (or restore a backup) to start with an empty store`,
        { cause: err },
      );
    }
    await Deno.chmod(path, 0o600);
    return new Database(path, db, onError);
  }

  /** Runs `write` with the next batch, inside one transaction, at the end of this tick. */
  defer(write: () => void): void {
    this.#queued.push(write);
    if (this.#queued.length === 1) setTimeout(() => this.commit(), 0);
  }

  /** Resolves once every write deferred so far is committed. */
  committed(): Promise<void> {
    if (this.#queued.length === 0) return Promise.resolve();
    this.#committed ??= Promise.withResolvers<void>();
    return this.#committed.promise;
  }

  /** Commits the deferred writes now. A failing write (disk full) is reported, not thrown. */
  commit(): void {
    const writes = this.#queued.splice(0);
    const waiting = this.#committed;
    this.#committed = undefined;
    if (writes.length > 0) {
      try {
        this.transaction(() => {
          for (const write of writes) write();
        });
      } catch (err) {
        this.#onError(err as Error);
      }
    }
    waiting?.resolve();
  }

  /** Runs `body` in one transaction, rolled back if it throws. */
  transaction<T>(body: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}
