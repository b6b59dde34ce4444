/**
 * Which nodes are alive, and "every live node has applied this change": a node that writes a
 * shared record (a version, a deploy, a secret) asks the others on a core NATS subject, and each
 * answers once its watch of that bucket has reached the write's revision.
 */
import type { Subscription } from "@nats-io/transport-node";
import type { ClusterConnection } from "./nats_connection.ts";
import { subjects } from "./cluster_layout.ts";

/** How often a node refreshes its entry in the nodes bucket (whose entries live 15 s). */
const presenceMs = 5_000;

/** One node's part in the cluster's agreement. */
export class ClusterSync {
  #connection: ClusterConnection;
  #node: string;
  #applied = new Map<string, number>();
  #waiters: { bucket: string; revision: number; resolve: () => void }[] = [];
  #subscription: Subscription | undefined;
  #presence: ReturnType<typeof setInterval> | undefined;

  constructor(connection: ClusterConnection, node: string) {
    this.#connection = connection;
    this.#node = node;
  }

  /** Announces this node and answers the others' questions. */
  async start(info: Record<string, unknown>): Promise<void> {
    const announce = () =>
      this.#connection.nodes.put(`node.${this.#node}`, JSON.stringify({ ...info, seenAt: Date.now() })).catch(() => {});
    await announce();
    this.#presence = setInterval(announce, presenceMs);
    const subscription = this.#connection.nc.subscribe(subjects.sync);
    this.#subscription = subscription;
    (async () => {
      for await (const message of subscription) {
        const { bucket, revision } = JSON.parse(new TextDecoder().decode(message.data));
        this.#whenApplied(bucket, revision).then(() => message.respond(this.#node));
      }
    })();
  }

  /** Notes that this node's watch of `bucket` has applied `revision`. */
  applied(bucket: string, revision: number): void {
    if ((this.#applied.get(bucket) ?? 0) < revision) this.#applied.set(bucket, revision);
    const ready = this.#waiters.filter((w) => w.bucket === bucket && w.revision <= revision);
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.resolve();
  }

  /** The live nodes' names. */
  async nodes(): Promise<string[]> {
    return (await Array.fromAsync(await this.#connection.nodes.keys("node.>"))).map((key) => key.slice(5));
  }

  /**
   * Resolves once every live node has applied `revision` of `bucket`, or after `maxWaitMs` (a node
   * that died keeps its entry for up to 15 s); returns the nodes that answered.
   */
  async everywhere(bucket: string, revision: number, maxWaitMs = 3_000): Promise<string[]> {
    const live = (await this.nodes()).length;
    const replies = await this.#connection.nc.requestMany(subjects.sync, JSON.stringify({ bucket, revision }), {
      strategy: "count",
      maxMessages: Math.max(1, live),
      maxWait: maxWaitMs,
    });
    const answered: string[] = [];
    for await (const reply of replies) answered.push(new TextDecoder().decode(reply.data));
    return answered;
  }

  /** Leaves the cluster: no more answers, and this node's entry is removed. */
  async stop(): Promise<void> {
    clearInterval(this.#presence);
    this.#subscription?.unsubscribe();
    await this.#connection.nodes.delete(`node.${this.#node}`).catch(() => {});
  }

  #whenApplied(bucket: string, revision: number): Promise<void> {
    if ((this.#applied.get(bucket) ?? 0) >= revision) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ bucket, revision, resolve }));
  }
}
