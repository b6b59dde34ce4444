/**
 * Spawned calls and batches, by id: they run whether or not their caller stays, and their outcomes
 * are kept for the retention period after they finish.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { OutputMessage } from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";

/** One spawned call (one input) or batch (many). */
export class SpawnedCall {
  readonly id: string;
  readonly outputs: (OutputMessage | undefined)[] = [];
  finished = 0;
  finishedAt: number | undefined;
  #running = new Map<number, PoolCall>();
  #inputsClosed = false;
  #changed = Promise.withResolvers<void>();

  constructor(id: string) {
    this.id = id;
  }

  /** Adds an input, running as `call`. */
  add(call: PoolCall): void {
    const index = this.outputs.length;
    this.outputs.push(undefined);
    this.#running.set(index, call);
    call.outcome.then((outcome) => this.#record(index, outcome));
  }

  /** Adds an input that failed before it could run. */
  addFailed(code: Code, message: string): void {
    const index = this.outputs.length;
    this.outputs.push(undefined);
    this.#record(index, { failure: { code, message } });
  }

  /** No more inputs will come; the call is done once those it has are. */
  closeInputs(): void {
    this.#inputsClosed = true;
    this.#checkDone();
  }

  get done(): boolean {
    return this.#inputsClosed && this.finished === this.outputs.length;
  }

  /** Resolves when the call is done or `timeoutMs` has passed, whichever comes first. */
  async wait(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.done && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((resolve) => timer = setTimeout(resolve, deadline - Date.now())),
      ]);
      clearTimeout(timer);
    }
  }

  /** Cancels every input still running or waiting. */
  cancel(): void {
    for (const call of this.#running.values()) call.cancel();
  }

  #record(index: number, outcome: CallOutcome): void {
    this.#running.delete(index);
    this.outputs[index] = outcome.failure
      ? { call_id: index, failure: outcome.failure }
      : { call_id: index, value: outcome.value };
    this.finished++;
    this.#checkDone();
  }

  #checkDone(): void {
    if (this.done) this.finishedAt ??= Date.now();
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

/** Every spawned call this server holds. */
export class SpawnedCalls {
  #calls = new Map<string, SpawnedCall>();
  #retentionMs: number;
  #sweeper: ReturnType<typeof setInterval>;

  constructor(retentionMs: number) {
    this.#retentionMs = retentionMs;
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(retentionMs, 60_000));
  }

  /** A new call; `batch` marks ids of spawnMap batches ("fm-") apart from single calls ("fc-"). */
  create(batch: boolean): SpawnedCall {
    const call = new SpawnedCall(`${batch ? "fm" : "fc"}-${crypto.randomUUID()}`);
    this.#calls.set(call.id, call);
    return call;
  }

  /** A held call; NOT_FOUND for an unknown id or one past its retention. */
  get(id: string): SpawnedCall {
    const call = this.#calls.get(id);
    if (!call) {
      throw new StupidModalError(
        Code.NOT_FOUND,
        `no spawned call ${id} (unknown, or finished over ${this.#retentionMs} ms ago)`,
      );
    }
    return call;
  }

  /** Stops sweeping (at shutdown). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    const horizon = Date.now() - this.#retentionMs;
    for (const [id, call] of this.#calls) {
      if (call.finishedAt !== undefined && call.finishedAt < horizon) this.#calls.delete(id);
    }
  }
}
