/**
 * The embedded store: one SQLite file (`<data-dir>/store.db`, through `node:sqlite`), owner-only,
 * in WAL mode. Writes made on the hot path are queued and committed together once per tick.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";

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

/** Writes kept for another try after a batch failed for want of room or access; beyond, they are dropped. */
const maxKeptWrites = 100_000;
/** How soon such a batch is tried again. */
const retryMs = 1_000;

/** The store's database and its queue of deferred writes. */
export class Database {
  readonly path: string;
  readonly db: DatabaseSync;
  #queued: (() => void)[] = [];
  #committed: PromiseWithResolvers<void> | undefined;
  #onError: (err: Error) => void;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failing = false;
  /** Statements by their SQL, prepared once: writes made per call or per input repeat a few. */
  #statements = new Map<string, StatementSync>();

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
      // A folder the server cannot write to (read-only, full) is not a reason to move the store away.
      const unwritable = await writeProblem(dataDir);
      const advice = unwritable
        ? `The data directory cannot be written (${unwritable}); nothing was changed: make it writable`
        : "Nothing was changed; move the file away (or restore a backup) to start with an empty store";
      throw new Error(`cannot open the store ${path}: ${(err as Error).message}. ${advice}`, { cause: err });
    }
    await Deno.chmod(path, 0o600);
    return new Database(path, db, onError);
  }

  /** Runs `write` with the next batch, inside one transaction, at the end of this tick. */
  defer(write: () => void): void {
    this.#queued.push(write);
    if (this.#queued.length === 1) setTimeout(() => this.commit(), 0);
  }

  /**
   * Resolves once every write deferred so far is committed; rejects with a StupidModalError
   * (RESOURCE_EXHAUSTED when the disk is full, else UNAVAILABLE) when they could not be.
   */
  committed(): Promise<void> {
    if (this.#queued.length === 0) return Promise.resolve();
    this.#committed ??= Promise.withResolvers<void>();
    return this.#committed.promise;
  }

  /**
   * Commits the deferred writes now. A failing batch is rolled back and fails those waiting on it,
   * and is reported, not thrown. When it failed for want of room or access (disk full, read-only),
   * its writes stay queued, in order, and are tried again until they succeed: nothing recorded is
   * lost while the server runs, and no outcome is given out before it is on disk.
   */
  commit(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const writes = this.#queued.splice(0);
    const waiting = this.#committed;
    this.#committed = undefined;
    if (writes.length > 0) {
      try {
        this.transaction(() => {
          for (const write of writes) write();
        });
      } catch (err) {
        const message = (err as Error).message;
        const transient = /full|read-?only|disk I\/O|locked|busy/i.test(message);
        if (transient && writes.length <= maxKeptWrites) {
          this.#queued = writes.concat(this.#queued);
          this.#retry = setTimeout(() => this.commit(), retryMs);
          // Reported once per spell of failures, not at every try.
          if (!this.#failing) this.#onError(new Error(`${message}; its writes are kept and tried again`));
          this.#failing = true;
        } else {
          this.#onError(new Error(`${message}; ${writes.length} writes were dropped`, { cause: err }));
        }
        const code = /full/i.test(message) ? Code.RESOURCE_EXHAUSTED : Code.UNAVAILABLE;
        waiting?.reject(new StupidModalError(code, `the store could not write: ${message}`, { cause: err }));
        return;
      }
      this.#failing = false;
    }
    waiting?.resolve();
  }

  /**
   * The prepared statement of `sql`, made on first use (preparing costs ~4 µs of the ~6 µs a
   * one-row insert takes here).
   */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.db.prepare(sql));
    return statement;
  }

  /** Runs `body` in one transaction, rolled back if it throws. */
  transaction<T>(body: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      // SQLite may have rolled back already (a full disk can do that): the first error is the one to tell.
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  close(): void {
    this.commit();
    clearTimeout(this.#retry);
    this.db.close();
  }
}

/** Why a file cannot be written in `dir` (a read-only file system, no space…), or undefined if it can. */
async function writeProblem(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.write-probe-${crypto.randomUUID()}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
