/**
 * One node's connection to the cluster's NATS server: the JetStream streams, key-value buckets and
 * object store the cluster shares, made when missing, opened when present.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type ObjectStore, Objm } from "@nats-io/obj";
import {
  callBucket,
  codeStore,
  deadLetterStream,
  deploymentBucket,
  inputStream,
  nanos,
  nodeBucket,
  outputBucket,
  secretBucket,
  versionBucket,
} from "./cluster_layout.ts";

/** How a node joins. */
export interface ConnectionSettings {
  /** nats://host:port, or several comma-separated. */
  url: string;
  nodeName: string;
  /** How long outcomes and spawned calls' records are kept. */
  retentionMs: number;
  log: (line: string) => void;
}

/** The handles a node's cluster parts share. */
export class ClusterConnection {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly outputs: KV,
    readonly versions: KV,
    readonly deployments: KV,
    readonly secrets: KV,
    readonly calls: KV,
    readonly nodes: KV,
    readonly code: ObjectStore,
  ) {}

  /** Connects and makes sure the streams and buckets exist. */
  static async open(settings: ConnectionSettings): Promise<ClusterConnection> {
    const servers = settings.url.split(",").map((url) => url.trim()).filter(Boolean);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: `stupid-modal ${settings.nodeName}`,
        maxReconnectAttempts: -1,
        // The node outlives NATS restarts: reconnect, and keep what is sent meanwhile.
        reconnectTimeWait: 250,
      });
    } catch (err) {
      throw new Error(`cannot reach NATS at ${settings.url}: ${(err as Error).message}`);
    }
    (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect" || status.type === "reconnect") {
          settings.log(`nats: ${status.type} (${settings.url})`);
        }
      }
    })().catch(() => {});
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await ensureStream(jsm, {
        name: inputStream,
        subjects: ["sm.in.>"],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        // An input nobody takes within the retention period is dropped with it.
        max_age: nanos(settings.retentionMs),
        duplicate_window: nanos(120_000),
      });
      await ensureStream(jsm, {
        name: deadLetterStream,
        subjects: ["sm.dead.>"],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(settings.retentionMs),
      });
      const kvm = new Kvm(js);
      const bucket = async (name: string, ttl?: number) => {
        try {
          return await kvm.create(name, { history: 1, ...(ttl ? { ttl } : {}) });
        } catch {
          // Made by another node with other settings: use it as it is.
          return await kvm.open(name);
        }
      };
      return new ClusterConnection(
        nc,
        js,
        jsm,
        await bucket(outputBucket, settings.retentionMs),
        await bucket(versionBucket),
        await bucket(deploymentBucket),
        await bucket(secretBucket),
        await bucket(callBucket, settings.retentionMs),
        // A node that stops refreshing its entry drops out of this bucket.
        await bucket(nodeBucket, 15_000),
        await new Objm(js).create(codeStore, { storage: StorageType.File }),
      );
    } catch (err) {
      await nc.close().catch(() => {});
      throw new Error(
        `NATS at ${settings.url} has no usable JetStream (start nats-server with -js): ${(err as Error).message}`,
      );
    }
  }

  /** Flushes what is sent and closes. */
  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager["streams"]["add"]>[0] & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    try {
      await jsm.streams.add(config);
    } catch (err) {
      // Another node made it meanwhile.
      await jsm.streams.info(config.name).catch(() => {
        throw err;
      });
    }
  }
}
