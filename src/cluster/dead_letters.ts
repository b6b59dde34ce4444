/**
 * Inputs given up on: when JetStream reports that a message reached the consumer's max_deliver
 * (every node that took it died or stopped answering before acknowledging it), one node republishes
 * it on the dead-letter subject `sm.dead.<function>` (kept in the SM_DEAD stream), gives each of its
 * inputs that has no outcome yet a failure naming that subject, and removes it from the work queue.
 */
import type { Subscription } from "@nats-io/transport-node";
import { Code } from "../wire/errors.ts";
import { failed } from "../sandbox/call_outcome.ts";
import type { ClusterConnection } from "./nats_connection.ts";
import { inputStream, subjects } from "./cluster_layout.ts";
import { decodeBatch } from "./input_batch.ts";
import type { OutputTable } from "./output_table.ts";

/**
 * One node's share of handling dead letters. Every node hears each advisory (a queue group would
 * hand it to one member, which may be the frozen node itself, and the advisory would be lost): the
 * first to act buries the input; the others find it gone, and the dead-letter publish carries a
 * message id, so JetStream keeps one copy.
 */
export class DeadLetters {
  #connection: ClusterConnection;
  #outputs: OutputTable;
  #log: (line: string) => void;
  #subscription: Subscription | undefined;

  constructor(connection: ClusterConnection, outputs: OutputTable, log: (line: string) => void) {
    this.#connection = connection;
    this.#outputs = outputs;
    this.#log = log;
  }

  start(): Promise<void> {
    const subscription = this.#connection.nc.subscribe(subjects.maxDeliveries);
    this.#subscription = subscription;
    (async () => {
      for await (const message of subscription) {
        const advisory = JSON.parse(new TextDecoder().decode(message.data));
        await this.#bury(advisory.stream_seq, advisory.deliveries).catch((err) =>
          this.#log(`cluster: cannot move input message ${advisory.stream_seq} to the dead letters: ${err.message}`)
        );
      }
    })();
    return Promise.resolve();
  }

  stop(): void {
    this.#subscription?.unsubscribe();
  }

  async #bury(sequence: number, deliveries: number): Promise<void> {
    const { jsm, js } = this.#connection;
    // Another node may have buried it already.
    const stored = await jsm.streams.getMessage(inputStream, { seq: sequence }).catch(() => null);
    if (!stored) return;
    const batch = decodeBatch(stored.data);
    const deadSubject = subjects.dead(stored.subject);
    await js.publish(deadSubject, stored.data, { msgID: `dead-${sequence}` });
    const reason = failed(
      Code.ABORTED,
      `the input was delivered ${deliveries} times and each node that took it stopped before finishing it ` +
        `(--cluster-max-deliver); it was moved to the dead-letter subject ${deadSubject}`,
    );
    let failedInputs = 0;
    for (const input of batch.inputs) if (await this.#outputs.write(input.key, reason)) failedInputs++;
    if (!await jsm.streams.deleteMessage(inputStream, sequence).catch(() => false)) return;
    this.#log(
      `cluster: ${batch.app}.${batch.functionName}: ${failedInputs} input(s) given up on after ${deliveries} ` +
        `deliveries, moved to ${deadSubject}`,
    );
  }
}
