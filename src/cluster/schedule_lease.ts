/**
 * One node of the cluster fires the schedules: the holder of a lease in the nodes bucket, which it
 * renews every few seconds. When it stops renewing (it died), the lease lapses within 15 s and
 * another node takes it and the schedules over.
 */
import type { ClusterConnection } from "./nats_connection.ts";

const leaseKey = "lease.schedules";
const renewMs = 5_000;

/** Something that runs only while this node holds the lease. */
export interface Leased {
  start(): void;
  stop(): void;
}

/** The schedule lease, as one node tries to hold it. */
export class ScheduleLease {
  #connection: ClusterConnection;
  #node: string;
  #leased: Leased;
  #revision = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #log: (line: string) => void;

  constructor(connection: ClusterConnection, node: string, leased: Leased, log: (line: string) => void) {
    this.#connection = connection;
    this.#node = node;
    this.#leased = leased;
    this.#log = log;
  }

  /** Tries for the lease now and every few seconds. */
  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => this.#tick(), renewMs);
  }

  /** Gives the lease up (another node takes it at its next try). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#revision === 0) return;
    this.#leased.stop();
    this.#revision = 0;
    await this.#connection.nodes.delete(leaseKey).catch(() => {});
  }

  async #tick(): Promise<void> {
    const nodes = this.#connection.nodes;
    try {
      if (this.#revision > 0) {
        this.#revision = await nodes.update(leaseKey, this.#node, this.#revision);
        return;
      }
      this.#revision = await nodes.create(leaseKey, this.#node);
      this.#log(`cluster: this node fires the schedules`);
      this.#leased.start();
    } catch {
      if (this.#revision > 0) {
        this.#log(`cluster: lost the schedule lease; another node fires the schedules`);
        this.#leased.stop();
        this.#revision = 0;
      }
    }
  }
}
