/**
 * Named secrets: set by the operator, held by the server, given to the functions that list them
 * as environment variables of their sandbox, and blotted out of those functions' logs and errors.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import { isEnvName, isSecretName } from "../wire/names.ts";
import type { SecretInfo } from "../wire/proto.ts";
import type { SecretRecords, SecretRow } from "../store/secret_records.ts";

/** What a function gets of its secrets. */
export interface SecretEnv {
  env: Record<string, string>;
  /** Changes whenever one of the secrets changes, so executors holding old values are replaced. */
  revision: string;
  /** The values, to blot out of output. */
  values: string[];
}

/** Where a cluster node shares secrets set and deleted here (see src/cluster/cluster_secrets.ts). */
export interface SecretReplica {
  saved(row: SecretRow): void;
  deleted(name: string): void;
}

/** The server's secrets. */
export class Secrets {
  #records: SecretRecords;
  #secrets = new Map<string, SecretRow>();
  /** Set on a cluster node. */
  replica: SecretReplica | undefined;

  constructor(records: SecretRecords) {
    this.#records = records;
    for (const row of records.all()) this.#secrets.set(row.name, row);
  }

  set(name: string, values: Record<string, string>): void {
    if (!isSecretName(name)) {
      throw new StupidModalError(
        Code.INVALID_ARGUMENT,
        `secret name "${name}" must be 1–63 letters, digits, ".", "_" or "-"`,
      );
    }
    const keys = Object.keys(values);
    if (keys.length === 0) throw new StupidModalError(Code.INVALID_ARGUMENT, `secret "${name}" has no KEY=VALUE`);
    const bad = keys.find((key) => !isEnvName(key));
    if (bad !== undefined) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, `secret key "${bad}" is not an environment variable name`);
    }
    if (keys.some((key) => values[key].length > 64 * 1024)) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, `a value of secret "${name}" is over 64 KiB`);
    }
    const row = { name, values: { ...values }, updatedAt: Date.now() };
    this.#records.save(row);
    this.#secrets.set(name, row);
    this.replica?.saved(row);
  }

  delete(name: string): void {
    if (!this.#records.delete(name)) throw new StupidModalError(Code.NOT_FOUND, `no secret named "${name}"`);
    this.#secrets.delete(name);
    this.replica?.deleted(name);
  }

  /** Takes a secret set on another cluster node; `revision` changes only if its values did. */
  follow(row: SecretRow): void {
    const held = this.#secrets.get(row.name);
    if (held && held.updatedAt === row.updatedAt) return;
    this.#records.save(row);
    this.#secrets.set(row.name, row);
  }

  /** Forgets a secret deleted on another cluster node. */
  forget(name: string): void {
    this.#records.delete(name);
    this.#secrets.delete(name);
  }

  list(): SecretInfo[] {
    return [...this.#secrets.values()].map((row) => ({
      name: row.name,
      keys: Object.keys(row.values),
      updated_at_ms: row.updatedAt,
    }));
  }

  /** The first of `names` that does not exist, if any. */
  missing(names: string[]): string | undefined {
    return names.find((name) => !this.#secrets.has(name));
  }

  /** The environment a function listing `names` gets; FAILED_PRECONDITION naming a missing one. */
  envFor(functionName: string, names: string[]): SecretEnv {
    const env: Record<string, string> = {};
    const revision: string[] = [];
    for (const name of names) {
      const row = this.#secrets.get(name);
      if (!row) {
        throw new StupidModalError(
          Code.FAILED_PRECONDITION,
          `function "${functionName}" needs the secret "${name}", which does not exist; ` +
            `create it with: stupid-modal secret set ${name} KEY=VALUE`,
        );
      }
      Object.assign(env, row.values);
      revision.push(`${name}@${row.updatedAt}`);
    }
    // Longest first, so a value containing another is blotted out whole.
    const values = Object.values(env).filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
    return { env, revision: revision.join(","), values };
  }
}

/** `text` with every secret value replaced by "[secret]". */
export function redact(text: string, values: string[]): string {
  for (const value of values) {
    if (text.includes(value)) text = text.replaceAll(value, "[secret]");
  }
  return text;
}
