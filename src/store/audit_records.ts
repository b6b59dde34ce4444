/** The audit log, as rows of the store: who deployed, changed or invoked what, and when. */
import type { AuditEntry } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** Entries kept in all. */
const keptEntries = 1_000_000;

/** Reads and writes audit entries. Writes are deferred to the store's next batch. */
export class AuditRecords {
  #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  append(entry: AuditEntry): void {
    this.#database.defer(() =>
      this.#database.statement(
        "INSERT INTO audit (time_ms, token, action, app_name, function, count, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(entry.time_ms, entry.token, entry.action, entry.app_name, entry.function, entry.count, entry.detail)
    );
  }

  /** The newest `limit` entries, of one token or all, newest first. */
  latest(limit: number, token: string): AuditEntry[] {
    this.#database.commit();
    const rows = this.#database.db.prepare(
      "SELECT * FROM audit WHERE ? = '' OR token = ? ORDER BY id DESC LIMIT ?",
    ).all(token, token, limit);
    return rows.map((row) => ({
      time_ms: row.time_ms as number,
      token: row.token as string,
      action: row.action as string,
      app_name: row.app_name as string,
      function: row.function as string,
      count: row.count as number,
      detail: row.detail as string,
    }));
  }

  /** Drops the oldest entries beyond the bound. */
  prune(): void {
    this.#database.defer(() =>
      this.#database.db.prepare("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?").run(keptEntries)
    );
  }
}
