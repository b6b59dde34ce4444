/** Recent log lines of apps, as rows of the store; the oldest are dropped beyond a bound. */
import type { StatementSync } from "node:sqlite";
import type { AppLogEntry } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** Lines kept in all, across apps. */
const keptLines = 200_000;

/** How long appended lines gather before they go to the store together. */
const gatherMs = 25;

/**
 * Reads and writes app log lines. Lines gather for a moment, then go to the store's next batch
 * as one deferred write through one prepared statement: a commit per call would cost every call.
 */
export class LogRecords {
  #database: Database;
  #pending: AppLogEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #insert: StatementSync | undefined;

  constructor(database: Database) {
    this.#database = database;
  }

  append(entry: AppLogEntry): void {
    this.#pending.push(entry);
    this.#timer ??= setTimeout(() => this.flush(), gatherMs);
  }

  /** Hands the gathered lines to the store's next batch now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const entries = this.#pending;
    this.#pending = [];
    // Run again, as a whole, if the store retries a failed batch.
    this.#database.defer(() => {
      this.#insert ??= this.#database.db.prepare(
        "INSERT INTO logs (time_ms, app_name, function, call_id, stream, text, server) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      for (const entry of entries) {
        this.#insert.run(
          entry.time_ms,
          entry.app_name,
          entry.function,
          entry.call_id,
          entry.stream,
          entry.text,
          entry.server ? 1 : 0,
        );
      }
    });
  }

  /** The last `count` lines of an app, oldest first. */
  tail(appName: string, count: number): AppLogEntry[] {
    if (this.#pending.length > 0) {
      this.flush();
      this.#database.commit();
    }
    const rows = this.#database.db.prepare("SELECT * FROM logs WHERE app_name = ? ORDER BY id DESC LIMIT ?")
      .all(appName, count);
    return rows.reverse().map((row) => ({
      time_ms: row.time_ms as number,
      app_name: row.app_name as string,
      function: row.function as string,
      call_id: row.call_id as string,
      stream: row.stream as 0 | 1,
      text: row.text as string,
      server: row.server === 1,
    }));
  }

  /** Drops the oldest lines beyond the bound. */
  prune(): void {
    this.#database.defer(() =>
      this.#database.db.prepare("DELETE FROM logs WHERE id <= (SELECT MAX(id) FROM logs) - ?").run(keptLines)
    );
  }
}
