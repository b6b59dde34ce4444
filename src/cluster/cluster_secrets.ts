/**
 * Secrets shared by the cluster: a key-value bucket by name, each value encrypted (AES-GCM, with a
 * key derived from the cluster's token) so neither NATS's files nor its traffic hold one in clear.
 * Every node follows the bucket into its own Secrets.
 */
import { Buffer } from "node:buffer";
import type { SecretReplica, Secrets } from "../server/secrets.ts";
import type { SecretRow } from "../store/secret_records.ts";
import type { ClusterConnection } from "./nats_connection.ts";
import type { ClusterSync } from "./cluster_sync.ts";
import { secretBucket } from "./cluster_layout.ts";

/** The cluster's secrets, as one node keeps them. */
export class ClusterSecrets implements SecretReplica {
  #connection: ClusterConnection;
  #sync: ClusterSync;
  #secrets: Secrets;
  #key: Promise<CryptoKey>;
  #log: (line: string) => void;
  #stop: () => void = () => {};

  constructor(
    connection: ClusterConnection,
    sync: ClusterSync,
    secrets: Secrets,
    token: string,
    log: (line: string) => void,
  ) {
    this.#connection = connection;
    this.#sync = sync;
    this.#secrets = secrets;
    this.#log = log;
    this.#key = secretKey(token);
  }

  /** Follows the bucket; resolves once its current entries are applied. */
  async start(): Promise<void> {
    const kv = this.#connection.secrets;
    const total = (await kv.status()).values;
    const caughtUp = Promise.withResolvers<void>();
    if (total === 0) caughtUp.resolve();
    let seen = 0;
    const watcher = await kv.watch();
    this.#stop = () => watcher.stop();
    this.#secrets.replica = this;
    (async () => {
      for await (const entry of watcher) {
        try {
          if (entry.operation === "PUT") this.#secrets.follow(await this.#open(entry.key, entry.value));
          else this.#secrets.forget(entry.key);
          this.#log(`cluster: following secret ${entry.key} (${entry.operation === "PUT" ? "set" : "deleted"})`);
        } catch (err) {
          this.#log(`cluster: cannot read secret ${entry.key}: ${(err as Error).message}`);
        }
        this.#sync.applied(secretBucket, entry.revision);
        if (++seen >= total || entry.delta === 0) caughtUp.resolve();
      }
    })();
    await caughtUp.promise;
  }

  saved(row: SecretRow): void {
    this.#seal(row)
      .then((sealed) => this.#connection.secrets.put(row.name, sealed))
      .then((revision) => this.#sync.everywhere(secretBucket, revision))
      .catch((err) => this.#log(`cluster: cannot share secret ${row.name}: ${err.message}`));
  }

  deleted(name: string): void {
    this.#connection.secrets.delete(name)
      .catch((err) => this.#log(`cluster: cannot share the deletion of secret ${name}: ${err.message}`));
  }

  stop(): void {
    this.#stop();
  }

  async #seal(row: SecretRow): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const plain = new TextEncoder().encode(JSON.stringify({ values: row.values, updatedAt: row.updatedAt }));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: nameBytes(row.name) }, await this.#key, plain),
    );
    return Buffer.concat([iv, sealed]);
  }

  async #open(name: string, stored: Uint8Array): Promise<SecretRow> {
    const sealed = new Uint8Array(stored);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.subarray(0, 12), additionalData: nameBytes(name) },
      await this.#key,
      sealed.subarray(12),
    ).catch(() => {
      throw new Error("it does not decrypt with this node's token (is STUPID_MODAL_TOKEN the same on every node?)");
    });
    const { values, updatedAt } = JSON.parse(new TextDecoder().decode(plain));
    return { name, values, updatedAt };
  }
}

function nameBytes(name: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(name);
}

/** An AES-GCM key derived from the token (HKDF-SHA-256), the same on every node. */
async function secretKey(token: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(token), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("stupid-modal cluster secrets"),
      info: new Uint8Array(),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
