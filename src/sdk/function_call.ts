/** A handle on a spawned call (or batch): its id, its result when it is ready, and cancellation. */
import type { Client, ClientOptions } from "../../client.ts";
import { decodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { OutputMessage } from "../wire/proto.ts";
import { failureToError } from "./failure.ts";

/** How long one GetCall waits on the server before asking again. */
const longPollMs = 30_000;

/**
 * A call started with `spawn` (or a batch started with `spawnMap`). It runs on the server whether
 * or not this process stays; any process that can reach the server can pick it up by its id.
 *
 * @example
 * ```ts
 * const call = await inference.spawn(3, 5);
 * console.log(call.id);
 * console.log(await call.get({ timeoutMs: 60_000 }));
 * const same = FunctionCall.fromId<number>(call.id); // in another process, too
 * ```
 */
export class FunctionCall<T> {
  /** The call's id on the server. */
  readonly id: string;
  #client: () => Promise<Client>;

  /** Made by `spawn` and `spawnMap`; use `FunctionCall.fromId` to pick up a call by id. */
  constructor(id: string, client: () => Promise<Client>) {
    this.id = id;
    this.#client = client;
  }

  /**
   * A handle on a spawned call by its id, connecting with `options` (default: the
   * STUPID_MODAL_* variables).
   *
   * @example
   * ```ts
   * const call = FunctionCall.fromId<number>("fc-…");
   * ```
   */
  static fromId<T = unknown>(id: string, options: ClientOptions = {}): FunctionCall<T> {
    let client: Promise<Client> | undefined;
    return new FunctionCall<T>(id, () => client ??= import("../../client.ts").then((m) => new m.Client(options)));
  }

  /**
   * The call's result (a batch's: every result, in input order), waiting for it if need be; the
   * call's error if it failed. With `timeoutMs`, DEADLINE_EXCEEDED if it is not done by then.
   */
  async get(options: { timeoutMs?: number } = {}): Promise<T> {
    const client = await this.#client();
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    while (true) {
      const wait = Math.max(0, Math.min(deadline - Date.now(), longPollMs));
      const state = await client.getCall(this.id, wait);
      if (state.done) return this.#result(state.outputs);
      if (Date.now() >= deadline) {
        throw new StupidModalError(
          Code.DEADLINE_EXCEEDED,
          `call ${this.id} did not finish within ${options.timeoutMs} ms (${state.finished} of ${state.inputs} inputs done)`,
        );
      }
    }
  }

  /** Cancels the call (every input of a batch still running or waiting). */
  async cancel(): Promise<void> {
    await (await this.#client()).cancelCall(this.id);
  }

  #result(outputs: OutputMessage[]): T {
    const values = outputs.map((output) => {
      if (output.failure) throw failureToError(output.failure);
      return decodeValue(output.value ?? new Uint8Array(), "result");
    });
    return (this.id.startsWith("fm-") ? values : values[0]) as T;
  }
}
