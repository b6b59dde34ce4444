/** Recent log lines of apps, as rows of the store; the oldest are dropped beyond a bound. */
import type { SQLInputValue } from "node:sqlite";
import type { AppLogEntry } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** Lines kept in all, across apps. */
const keptLines = 200_000;

/** How long appended lines gather before they go to the store together. */
const gatherMs = 25;
/** Lines one statement inserts, when there are as many. */
const rowsPerInsert = 64;
const insertLines = "INSERT INTO logs (time_ms, app_name, function, call_id, stream, text, server) VALUES";
const lineValues = "(?, ?, ?, ?, ?, ?, ?)";
const insertManyLines = `${insertLines} ${Array(rowsPerInsert).fill(lineValues).join(", ")}`;

/** Puts a line's seven values into `values` from `at` on. */
function setLine(values: SQLInputValue[], at: number, entry: AppLogEntry): void {
  values[at] = entry.time_ms;
  values[at + 1] = entry.app_name;
  values[at + 2] = entry.function;
  values[at + 3] = entry.call_id;
  values[at + 4] = entry.stream;
  values[at + 5] = entry.text;
  values[at + 6] = entry.server ? 1 : 0;
}

/**
 * Reads and writes app log lines. Lines gather for a moment, then go to the store's next batch
 * as one deferred write through one prepared statement: a commit per call would cost every call.
 */
export class LogRecords {
  #database: Database;
  #pending: AppLogEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

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
    this.#database.defer(() => this.#insert(entries));
  }

  /** Inserts lines, many per statement (a statement per line costs twice as much). */
  #insert(entries: AppLogEntry[]): void {
    let at = 0;
    if (entries.length >= rowsPerInsert) {
      const insertMany = this.#database.statement(insertManyLines);
      const values: SQLInputValue[] = new Array(rowsPerInsert * 7);
      for (; at + rowsPerInsert <= entries.length; at += rowsPerInsert) {
        for (let row = 0; row < rowsPerInsert; row++) setLine(values, row * 7, entries[at + row]);
        insertMany.run(...values);
      }
    }
    if (at === entries.length) return;
    const insertOne = this.#database.statement(`${insertLines} ${lineValues}`);
    const values: SQLInputValue[] = new Array(7);
    for (; at < entries.length; at++) {
      setLine(values, 0, entries[at]);
      insertOne.run(...values);
    }
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
