/**
 * Spawned calls and batches, by id: they run whether or not their caller stays, and their outcomes
 * are kept for the retention period after they finish.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { OutputMessage } from "../wire/proto.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";

/** One spawned call (one input) or batch (many). */
export class SpawnedCall {
  readonly id: string;
  readonly outputs: (OutputMessage | undefined)[] = [];
  finished = 0;
  finishedAt: number | undefined;
  #running = new Map<number, PoolCall>();
  #waiting: { index: number; start: () => PoolCall }[] = [];
  #cancelled = false;
  #inputsClosed = false;
  #changed = Promise.withResolvers<void>();
  #maxInFlight: number;

  /** `maxInFlight`: inputs submitted at once; the rest wait here, not in the function's queue. */
  constructor(id: string, maxInFlight: number) {
    this.id = id;
    this.#maxInFlight = maxInFlight;
  }

  /**
   * Adds an input; `start` submits it (and may throw, failing just that input). A batch keeps a
   * bounded number of inputs submitted at once, so a big one does not overflow the function's queue.
   */
  add(start: () => PoolCall): void {
    const index = this.outputs.length;
    this.outputs.push(undefined);
    this.#waiting.push({ index, start });
    this.#feed();
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
    this.#cancelled = true;
    for (const { index } of this.#waiting.splice(0)) this.#record(index, failed(Code.CANCELLED, "cancelled"));
    for (const call of this.#running.values()) call.cancel();
  }

  #feed(): void {
    while (this.#running.size < this.#maxInFlight && this.#waiting.length > 0 && !this.#cancelled) {
      const { index, start } = this.#waiting.shift()!;
      let call: PoolCall;
      try {
        call = start();
      } catch (err) {
        const error = StupidModalError.from(err);
        this.#record(index, failed(error.code, error.message));
        continue;
      }
      this.#running.set(index, call);
      call.outcome.then((outcome) => {
        this.#record(index, outcome);
        this.#feed();
      });
    }
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
  #maxInFlight: number;
  #sweeper: ReturnType<typeof setInterval>;

  /** `maxQueuedInputs` is the server's per-function queue: a batch keeps half of it busy at most. */
  constructor(retentionMs: number, maxQueuedInputs: number) {
    this.#retentionMs = retentionMs;
    this.#maxInFlight = Math.max(1, Math.floor(maxQueuedInputs / 2));
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(Math.max(retentionMs, 1_000), 60_000));
  }

  /** A new call; `batch` marks ids of spawnMap batches ("fm-") apart from single calls ("fc-"). */
  create(batch: boolean): SpawnedCall {
    const call = new SpawnedCall(`${batch ? "fm" : "fc"}-${crypto.randomUUID()}`, this.#maxInFlight);
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
