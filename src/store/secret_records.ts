/** Named secrets, as rows of the store (whose file only the server's user can read). */
import type { Database } from "./database.ts";

/** One secret: its variables and when it was last set. */
export interface SecretRow {
  name: string;
  values: Record<string, string>;
  updatedAt: number;
}

/** Reads and writes secrets, at once (not deferred): a set secret is a durable one. */
export class SecretRecords {
  #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  all(): SecretRow[] {
    return this.#database.db.prepare("SELECT * FROM secrets ORDER BY name").all().map((row) => ({
      name: row.name as string,
      values: JSON.parse(row.vals as string),
      updatedAt: row.updated_at as number,
    }));
  }

  save(secret: SecretRow): void {
    this.#database.db.prepare("INSERT OR REPLACE INTO secrets (name, vals, updated_at) VALUES (?, ?, ?)")
      .run(secret.name, JSON.stringify(secret.values), secret.updatedAt);
  }

  delete(name: string): boolean {
    return this.#database.db.prepare("DELETE FROM secrets WHERE name = ?").run(name).changes > 0;
  }
}
