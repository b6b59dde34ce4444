/** Named tokens, as rows of the store: their SHA-256 digests (never the tokens), scopes and limits. */
import type { Scope } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** One named token. */
export interface TokenRow {
  name: string;
  /** Lowercase hex SHA-256 of the token. */
  digest: string;
  scopes: Scope[];
  createdAt: number;
  /** Calls in flight at once; 0 = no limit. */
  maxConcurrent: number;
  /** Unfinished spawned inputs; 0 = no limit. */
  maxQueued: number;
}

/** Reads and writes tokens, at once (not deferred): a created or revoked token is a durable one. */
export class TokenRecords {
  #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  all(): TokenRow[] {
    return this.#database.db.prepare("SELECT * FROM tokens ORDER BY name").all().map((row) => ({
      name: row.name as string,
      digest: row.digest as string,
      scopes: JSON.parse(row.scopes as string),
      createdAt: row.created_at as number,
      maxConcurrent: row.max_concurrent as number,
      maxQueued: row.max_queued as number,
    }));
  }

  add(token: TokenRow): void {
    this.#database.db.prepare(
      "INSERT INTO tokens (name, digest, scopes, created_at, max_concurrent, max_queued) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      token.name,
      token.digest,
      JSON.stringify(token.scopes),
      token.createdAt,
      token.maxConcurrent,
      token.maxQueued,
    );
  }

  delete(name: string): boolean {
    return this.#database.db.prepare("DELETE FROM tokens WHERE name = ?").run(name).changes > 0;
  }
}
