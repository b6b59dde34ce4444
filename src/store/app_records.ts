/** App versions (their specs and source files) and deployments, as rows of the store. */
import type { FunctionSpec, SourceFile } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** What is kept of one registered version besides its files. */
export interface VersionMeta {
  app_name: string;
  version: string;
  functions: FunctionSpec[];
  source_root: string;
  registered_at: number;
}

/** The deployed version of one app name. */
export interface Deployment {
  appName: string;
  version: string;
  stopped: boolean;
  deployedAt: number;
  deployCount: number;
}

/** Reads and writes app versions and deployments. */
export class AppRecords {
  #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  /** Every registered version, oldest first. */
  versions(): VersionMeta[] {
    const rows = this.#database.db.prepare("SELECT meta FROM app_versions ORDER BY registered_at").all();
    return rows.map((row) => JSON.parse(row.meta as string) as VersionMeta);
  }

  /** The source files of one version. */
  files(version: string): SourceFile[] {
    const rows = this.#database.db.prepare("SELECT path, content FROM app_files WHERE version = ?").all(version);
    return rows.map((row) => ({ path: row.path as string, content: row.content as Uint8Array }));
  }

  /** Stores a version and its files, in one transaction. */
  addVersion(meta: VersionMeta, files: SourceFile[]): void {
    const db = this.#database.db;
    this.#database.transaction(() => {
      db.prepare("INSERT OR REPLACE INTO app_versions (version, app_name, meta, registered_at) VALUES (?, ?, ?, ?)")
        .run(meta.version, meta.app_name, JSON.stringify(meta), meta.registered_at);
      const insert = db.prepare("INSERT OR REPLACE INTO app_files (version, path, content) VALUES (?, ?, ?)");
      for (const file of files) insert.run(meta.version, file.path, file.content);
    });
  }

  /** Every deployment, by app name. */
  deployments(): Deployment[] {
    const rows = this.#database.db.prepare("SELECT * FROM deployments ORDER BY app_name").all();
    return rows.map((row) => ({
      appName: row.app_name as string,
      version: row.version as string,
      stopped: row.stopped === 1,
      deployedAt: row.deployed_at as number,
      deployCount: row.deploy_count as number,
    }));
  }

  /** Writes a deployment as it now is. */
  saveDeployment(deployment: Deployment): void {
    this.#database.db.prepare(
      "INSERT OR REPLACE INTO deployments (app_name, version, stopped, deployed_at, deploy_count) VALUES (?, ?, ?, ?, ?)",
    ).run(
      deployment.appName,
      deployment.version,
      deployment.stopped ? 1 : 0,
      deployment.deployedAt,
      deployment.deployCount,
    );
  }
}
