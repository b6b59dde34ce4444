/**
 * Pulls one function's inputs from its durable consumer, never more than the node's free executor
 * slots for it allow (at most one message beyond), hands each message to `run`, and stops when the
 * function's queue is empty and nothing is waiting for an acknowledgement.
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { ClusterConnection } from "./nats_connection.ts";
import { type FunctionQueue, inputStream } from "./cluster_layout.ts";
import { decodeBatch, type InputBatch } from "./input_batch.ts";

/** What a puller asks of its node. */
export interface PullerHooks {
  /** Inputs of this function the node can start now (free slots), given those it holds. */
  free(held: number): number;
  /** Inputs per message the senders use, to turn free slots into messages. */
  perMessage: number;
  /**
   * Runs one message's inputs; `finished` is called as each input ends (its slot is free again).
   * Resolves once the message is acknowledged (or handed back).
   */
  run(message: JsMsg, batch: InputBatch, finished: () => void): Promise<void>;
  log: (line: string) => void;
}

/** How long one pull waits for inputs before asking again. */
const pullMs = 2_000;

/** One function's puller on one node. */
export class InputPuller {
  readonly queue: FunctionQueue;
  #connection: ClusterConnection;
  #hooks: PullerHooks;
  #held = 0;
  #running = new Set<Promise<void>>();
  #stopped = false;
  #wake = Promise.withResolvers<void>();
  #fetch: { stop(): void } | undefined;
  /** Resolves when the loop has ended. */
  readonly ended: Promise<void>;

  constructor(connection: ClusterConnection, queue: FunctionQueue, hooks: PullerHooks) {
    this.#connection = connection;
    this.queue = queue;
    this.#hooks = hooks;
    this.ended = this.#loop().catch((err) => {
      if (!this.#stopped) hooks.log(`cluster: pulling ${queue.functionName} stopped: ${(err as Error).message}`);
    });
  }

  /** Inputs held now. */
  get held(): number {
    return this.#held;
  }

  /** Takes no more inputs; what it holds runs on. */
  stop(): void {
    this.#stopped = true;
    this.#fetch?.stop();
    this.#wake.resolve();
  }

  /** Resolves once every message taken is acknowledged or handed back. */
  async settled(): Promise<void> {
    await this.ended;
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  async #loop(): Promise<void> {
    const consumer = await this.#connection.js.consumers.get(inputStream, this.queue.consumer);
    let emptyPulls = 0;
    while (!this.#stopped) {
      const free = this.#hooks.free(this.#held);
      if (free <= 0) {
        await this.#wake.promise;
        this.#wake = Promise.withResolvers<void>();
        continue;
      }
      const wanted = Math.max(1, Math.floor(free / this.#hooks.perMessage));
      const messages = await consumer.fetch({ max_messages: wanted, expires: pullMs });
      this.#fetch = messages;
      let got = 0;
      for await (const message of messages) {
        got++;
        if (this.#stopped) {
          // Taken while stopping: handed straight back, for another node.
          message.nak();
          continue;
        }
        this.#take(message);
      }
      this.#fetch = undefined;
      if (got > 0) {
        emptyPulls = 0;
        continue;
      }
      // Idle: end once nothing is queued and nothing awaits an acknowledgement (a node that
      // dies holding inputs leaves them pending; they come back after the ack wait).
      if (++emptyPulls < 2 || this.#held > 0) continue;
      const info = await consumer.info();
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    }
  }

  #take(message: JsMsg): void {
    let batch: InputBatch;
    try {
      batch = decodeBatch(message.data);
    } catch (err) {
      this.#hooks.log(`cluster: dropped an unreadable input message: ${(err as Error).message}`);
      message.term();
      return;
    }
    const count = batch.inputs.length;
    let finished = 0;
    this.#held += count;
    const running = this.#hooks.run(message, batch, () => {
      finished++;
      this.#held--;
      this.#wake.resolve();
    }).catch((err) => {
      this.#hooks.log(`cluster: an input message of ${this.queue.functionName} failed: ${(err as Error).message}`);
      message.nak();
    }).finally(() => {
      this.#running.delete(running);
      // Inputs the run did not report (skipped, refused) free their slots now.
      this.#held -= count - finished;
      this.#wake.resolve();
    });
    this.#running.add(running);
  }
}
