/**
 * Puts inputs on the work-queue stream: the inputs of one function submitted in one tick go out
 * together, a few per message (one node's worth of executor slots), each function on its own
 * subject with its own durable consumer, and idle nodes are told there is work.
 */
import { AckPolicy } from "@nats-io/jetstream";
import type { ClusterConnection } from "./nats_connection.ts";
import { type FunctionQueue, functionQueue, inputStream, nanos, subjects } from "./cluster_layout.ts";
import { type ClusterInput, encodeBatch, type InputBatch } from "./input_batch.ts";

/** How inputs are delivered to nodes. */
export interface DeliverySettings {
  /** How long a node may hold an input without acknowledging it or saying it is working on it. */
  ackWaitMs: number;
  /** Deliveries of one input before it is given up on (moved to the dead-letter subject). */
  maxDeliver: number;
}

/** How often, at most, work on one function is announced. */
const announceMs = 200;

interface Group {
  queue: FunctionQueue;
  batch: Omit<InputBatch, "inputs">;
  perMessage: number;
  inputs: ClusterInput[];
  onRefused: ((err: Error) => void)[];
}

/** The sending side of the work queue. */
export class InputStream {
  #connection: ClusterConnection;
  #settings: DeliverySettings;
  #groups = new Map<string, Group>();
  #flushQueued = false;
  #consumers = new Map<string, Promise<void>>();
  #unacknowledged = new Set<Promise<unknown>>();
  /** When each function's work was last announced. */
  #announced = new Map<string, number>();

  constructor(connection: ClusterConnection, settings: DeliverySettings) {
    this.#connection = connection;
    this.#settings = settings;
  }

  /**
   * Queues one input; it is sent at the end of this tick with the others of its function.
   * `onRefused` hears if the stream would not take it.
   */
  send(
    batch: Omit<InputBatch, "inputs">,
    input: ClusterInput,
    perMessage: number,
    onRefused: (err: Error) => void,
  ): void {
    const queue = functionQueue(batch.version, batch.functionName);
    let group = this.#groups.get(queue.subject);
    if (!group) {
      group = { queue, batch, perMessage, inputs: [], onRefused: [] };
      this.#groups.set(queue.subject, group);
    }
    group.inputs.push(input);
    group.onRefused.push(onRefused);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  /** Makes sure the function's durable consumer exists (once per process and function). */
  consumer(queue: FunctionQueue): Promise<void> {
    let made = this.#consumers.get(queue.consumer);
    if (!made) {
      made = this.#connection.jsm.consumers.add(inputStream, {
        durable_name: queue.consumer,
        // Read back by nodes looking for work: which function this consumer serves.
        description: `${queue.version}/${queue.functionName}`,
        filter_subject: queue.subject,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(this.#settings.ackWaitMs),
        max_deliver: this.#settings.maxDeliver,
        max_ack_pending: -1,
      }).then(
        () => {},
        // Made already, perhaps by a node with other settings: use it as it is.
        (err) =>
          this.#connection.jsm.consumers.info(inputStream, queue.consumer).then(() => {}, () => {
            this.#consumers.delete(queue.consumer);
            throw err;
          }),
      );
      this.#consumers.set(queue.consumer, made);
    }
    return made;
  }

  /** Resolves once every input sent so far is stored by JetStream (or refused). */
  async stored(): Promise<void> {
    await Promise.resolve();
    if (this.#flushQueued) this.#flush();
    await Promise.all(this.#unacknowledged);
  }

  #flush(): void {
    this.#flushQueued = false;
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    for (const group of groups) {
      const { queue } = group;
      for (let start = 0; start < group.inputs.length; start += group.perMessage) {
        const inputs = group.inputs.slice(start, start + group.perMessage);
        const refused = group.onRefused.slice(start, start + group.perMessage);
        const message = encodeBatch({ ...group.batch, inputs });
        const published = this.#connection.js.publish(queue.subject, message).catch((err: Error) => {
          for (const refuse of refused) refuse(err);
        }).finally(() => this.#unacknowledged.delete(published));
        this.#unacknowledged.add(published);
      }
      // Nodes with no puller for this function yet hear of it once its consumer exists (a few
      // times a second at most; nodes also look for work every few seconds).
      const now = Date.now();
      const announce = now - (this.#announced.get(queue.subject) ?? 0) >= announceMs;
      if (announce) this.#announced.set(queue.subject, now);
      this.consumer(queue).then(
        () => announce && this.#connection.nc.publish(subjects.work, `${queue.version}/${queue.functionName}`),
        (err: Error) => {
          for (const refuse of group.onRefused) refuse(err);
        },
      );
    }
  }
}
