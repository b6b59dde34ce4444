/**
 * App versions and deployments shared by the cluster: a version's files in the JetStream object
 * store and its specs in a key-value bucket, deployments in another. Every node watches both, so it
 * knows every version (and fetches and prepares one's files the first time it runs it) and follows
 * every deploy and stop.
 */
import type { KV } from "@nats-io/kv";
import { decodeValue, encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { SourceFile } from "../wire/proto.ts";
import type { AppReplica, AppStore, AppVersion, PrepareVersion } from "../server/app_store.ts";
import type { Deployment, VersionMeta } from "../store/app_records.ts";
import type { ClusterConnection } from "./nats_connection.ts";
import type { ClusterSync } from "./cluster_sync.ts";
import { deploymentBucket, versionBucket } from "./cluster_layout.ts";

/** What follows a deploy or stop made elsewhere (warming and retiring pools here). */
export type OnFollowed = (deployment: Deployment) => void;

/** The cluster's apps, as one node sees them. */
export class ClusterApps implements AppReplica {
  #connection: ClusterConnection;
  #store: AppStore;
  #prepare: PrepareVersion;
  #sync: ClusterSync;
  #log: (line: string) => void;
  #onFollowed: OnFollowed = () => {};
  #fetching = new Map<string, Promise<AppVersion>>();
  #stops: (() => void)[] = [];

  constructor(
    connection: ClusterConnection,
    store: AppStore,
    prepare: PrepareVersion,
    sync: ClusterSync,
    log: (line: string) => void,
  ) {
    this.#connection = connection;
    this.#store = store;
    this.#prepare = prepare;
    this.#sync = sync;
    this.#log = log;
  }

  /** Follows the cluster's versions and deployments; resolves once their current entries are applied here. */
  async start(onFollowed: OnFollowed): Promise<void> {
    this.#onFollowed = onFollowed;
    await this.#follow(this.#connection.versions, versionBucket, (value) => {
      this.#store.adopt(JSON.parse(new TextDecoder().decode(value)) as VersionMeta);
    });
    await this.#follow(this.#connection.deployments, deploymentBucket, (value) => {
      const deployment = JSON.parse(new TextDecoder().decode(value)) as Deployment;
      const current = this.#store.deployment(deployment.appName);
      if (
        current && current.version === deployment.version && current.stopped === deployment.stopped &&
        current.deployedAt === deployment.deployedAt
      ) return;
      this.#store.follow(deployment);
      this.#log(
        `cluster: following ${deployment.stopped ? "the stop" : "the deploy"} of ${deployment.appName} ` +
          `(version ${deployment.version.slice(0, 12)})`,
      );
      this.#onFollowed(deployment);
    });
  }

  /** Puts a new version's files and specs in the cluster; resolves once every live node knows it. */
  async published(meta: VersionMeta, files: SourceFile[]): Promise<void> {
    await this.#connection.code.putBlob({ name: meta.version }, encodeValue(files));
    const revision = await this.#connection.versions.put(meta.version, JSON.stringify(meta));
    await this.#sync.everywhere(versionBucket, revision);
  }

  /** Shares a deploy or stop made here (other nodes follow within milliseconds). */
  deployed(deployment: Deployment): void {
    this.#connection.deployments.put(deployment.appName, JSON.stringify(deployment))
      .then((revision) => this.#sync.everywhere(deploymentBucket, revision))
      .catch((err) => this.#log(`cluster: cannot share the deployment of ${deployment.appName}: ${err.message}`));
  }

  /** A version ready to run here: fetched from the cluster and prepared the first time. */
  ensureLocal(version: string): Promise<AppVersion> {
    let fetching = this.#fetching.get(version);
    if (!fetching) {
      fetching = this.#materialize(version);
      this.#fetching.set(version, fetching);
      fetching.catch(() => this.#fetching.delete(version));
    }
    return fetching;
  }

  stop(): void {
    for (const stop of this.#stops) stop();
  }

  async #materialize(version: string): Promise<AppVersion> {
    if (await this.#store.isReady(version)) return this.#store.get(version)!;
    const entry = await this.#connection.versions.get(version);
    if (!entry || entry.operation !== "PUT") {
      throw new StupidModalError(Code.NOT_FOUND, `no app version ${version} is registered in the cluster`);
    }
    const meta = JSON.parse(entry.string()) as VersionMeta;
    const blob = await this.#connection.code.getBlob(version);
    if (!blob) throw new StupidModalError(Code.NOT_FOUND, `the code of app version ${version} is not in the cluster`);
    const files = decodeValue(blob, "an app version's files") as SourceFile[];
    const started = performance.now();
    const app = await this.#store.materialize(meta, files, this.#prepare);
    this.#log(
      `cluster: fetched and prepared ${meta.app_name} version ${version.slice(0, 12)} ` +
        `(${(performance.now() - started).toFixed(0)} ms)`,
    );
    return app;
  }

  /** Applies a bucket's current entries, then its changes as they come; resolves after the first. */
  async #follow(kv: KV, bucket: string, apply: (value: Uint8Array) => void): Promise<void> {
    const total = (await kv.status()).values;
    const caughtUp = Promise.withResolvers<void>();
    let seen = 0;
    if (total === 0) caughtUp.resolve();
    const watcher = await kv.watch({ ignoreDeletes: true });
    this.#stops.push(() => watcher.stop());
    (async () => {
      for await (const entry of watcher) {
        if (entry.operation === "PUT") {
          try {
            apply(entry.value);
          } catch (err) {
            this.#log(`cluster: cannot apply ${bucket} entry ${entry.key}: ${(err as Error).message}`);
          }
        }
        this.#sync.applied(bucket, entry.revision);
        if (++seen >= total || entry.delta === 0) caughtUp.resolve();
      }
    })();
    await caughtUp.promise;
  }
}
