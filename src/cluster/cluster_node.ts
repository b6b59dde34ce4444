/**
 * Makes a server a node of a cluster (`--nats`): joins NATS, follows the cluster's apps,
 * deployments and secrets, and hands start_server.ts the cluster's scheduler and spawned calls in
 * place of the single-machine ones.
 */
import type { AppStore, PrepareVersion } from "../server/app_store.ts";
import type { Scheduler, SchedulerSettings } from "../server/scheduler.ts";
import type { Secrets } from "../server/secrets.ts";
import type { ServerConfig } from "../server/server_config.ts";
import type { Deployment } from "../store/app_records.ts";
import { ClusterConnection } from "./nats_connection.ts";
import { checkNodeName, defaultNodeName } from "./cluster_layout.ts";
import { ClusterApps } from "./cluster_apps.ts";
import { ClusterScheduler } from "./cluster_scheduler.ts";
import { ClusterSync } from "./cluster_sync.ts";
import { OutputTable } from "./output_table.ts";
import { type Leased, ScheduleLease } from "./schedule_lease.ts";
import { ClusterSecrets } from "./cluster_secrets.ts";
import { DeadLetters } from "./dead_letters.ts";
import { clusterCallsClass } from "./cluster_calls.ts";

/** One server's membership of a cluster. */
export class ClusterNode {
  readonly name: string;
  readonly connection: ClusterConnection;
  readonly outputs: OutputTable;
  readonly sync: ClusterSync;
  readonly apps: ClusterApps;
  /** The scheduler class a node uses: the cluster's, bound to this node. */
  readonly Scheduler: new (settings: SchedulerSettings) => Scheduler;
  /** The spawned calls class a node uses: records in the cluster, inputs on its work queue. */
  readonly SpawnedCalls: ReturnType<typeof clusterCallsClass>;
  #config: ServerConfig;
  #log: (line: string) => void;
  #scheduler: ClusterScheduler | undefined;
  #secrets: ClusterSecrets | undefined;
  #lease: ScheduleLease | undefined;
  #deadLetters: DeadLetters | undefined;

  private constructor(
    config: ServerConfig,
    name: string,
    connection: ClusterConnection,
    store: AppStore,
    prepare: PrepareVersion,
    log: (line: string) => void,
  ) {
    this.#config = config;
    this.#log = log;
    this.name = name;
    this.connection = connection;
    this.outputs = new OutputTable(connection.outputs, name);
    this.sync = new ClusterSync(connection, name);
    this.apps = new ClusterApps(connection, store, prepare, this.sync, log);
    // deno-lint-ignore no-this-alias
    const node = this;
    const parts = {
      connection,
      node: name,
      outputs: this.outputs,
      delivery: { ackWaitMs: config.clusterAckWaitMs, maxDeliver: config.clusterMaxDeliver },
      batchSize: config.clusterBatch,
      ensureLocal: (version: string) => this.apps.ensureLocal(version),
      known: (version: string) => store.get(version),
    };
    this.Scheduler = class extends ClusterScheduler {
      constructor(settings: SchedulerSettings) {
        super(settings, parts);
        node.#scheduler = this;
      }
    };
    this.SpawnedCalls = clusterCallsClass(() => node.#scheduler!, this.outputs, connection, name);
  }

  /** Joins the cluster at `config.nats`; the store follows the cluster's versions and deployments from now on. */
  static async join(
    config: ServerConfig,
    store: AppStore,
    prepare: PrepareVersion,
    log: (line: string) => void,
  ): Promise<ClusterNode> {
    if (!config.token) {
      throw new Error(
        "a cluster node needs STUPID_MODAL_TOKEN, the same on every node (callers use one token for all of them)",
      );
    }
    const name = checkNodeName(config.nodeName ?? defaultNodeName());
    const connection = await ClusterConnection.open({
      url: config.nats!,
      nodeName: name,
      retentionMs: config.retentionMs,
      log,
    });
    const node = new ClusterNode(config, name, connection, store, prepare, log);
    try {
      await node.sync.start({ host: config.host, port: config.port });
      store.replica = node.apps;
      await node.apps.start((deployment) => node.#followed(store, deployment));
    } catch (err) {
      await connection.close();
      throw err;
    }
    log(`cluster: node ${name} joined the cluster at ${config.nats}`);
    return node;
  }

  /** Shares secrets set here and follows those set elsewhere (values encrypted with a key from the token). */
  async shareSecrets(secrets: Secrets): Promise<void> {
    this.#secrets = new ClusterSecrets(this.connection, this.sync, secrets, this.#config.token!, this.#log);
    await this.#secrets.start();
  }

  /** Starts pulling work, and competes for firing the schedules. */
  async start(schedules: Leased): Promise<void> {
    await this.#scheduler!.start();
    this.#deadLetters = new DeadLetters(this.connection, this.outputs, this.#log);
    await this.#deadLetters.start();
    this.#lease = new ScheduleLease(this.connection, this.name, schedules, this.#log);
    await this.#lease.start();
  }

  /** Takes no more work; resolves once the inputs this node holds are done and acknowledged. */
  drain(): Promise<void> {
    this.#lease?.stop();
    return this.#scheduler?.drain() ?? Promise.resolve();
  }

  /** Leaves the cluster (after the scheduler has closed). */
  async close(): Promise<void> {
    await this.#lease?.stop();
    this.#deadLetters?.stop();
    this.#secrets?.stop();
    this.apps.stop();
    await this.sync.stop();
    await this.connection.close();
  }

  /** A deploy or stop made elsewhere: warm the new version's minimum here, let the others go. */
  #followed(store: AppStore, deployment: Deployment): void {
    const scheduler = this.#scheduler;
    if (!scheduler) return;
    if (deployment.stopped) {
      scheduler.retire(deployment.appName);
      return;
    }
    const app = store.get(deployment.version);
    if (!app) return;
    if (![...app.functions.values()].some((spec) => (spec.min_workers ?? 0) > 0)) {
      scheduler.retire(deployment.appName, deployment.version);
      return;
    }
    this.apps.ensureLocal(deployment.version).then(
      (ready) => scheduler.prewarm(ready),
      (err) => this.#log(`cluster: cannot warm ${deployment.appName}: ${err.message}`),
    );
  }
}
