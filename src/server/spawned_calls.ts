/**
 * Spawned calls and batches, by id: they run whether or not their caller stays, and their inputs
 * and outcomes are stored, kept for the retention period after they finish. Calls that had not
 * finished when the server stopped run again when it starts (at least once).
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { CallInfo, OutputMessage } from "../wire/proto.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import type { CallRecords, CallRow } from "../store/call_records.ts";

/** How the calls' records reach the disk. */
export interface StoreWrites {
  /** Writes pending records now. */
  commit(): void;
  /** Resolves once the records pending now are written. */
  committed(): Promise<void>;
}

/** Starts one input of a call on the scheduler (throws when it is refused at once). */
export type StartInput = (call: CallRow, args: Uint8Array) => PoolCall;

/** One spawned call (one input) or batch (many). */
export class SpawnedCall {
  readonly row: CallRow;
  readonly outputs: (OutputMessage | undefined)[] = [];
  finished = 0;
  #running = new Map<number, PoolCall>();
  #waiting: { index: number; args: Uint8Array }[] = [];
  #onDone = new Map<number, () => void>();
  #cancelled = false;
  #changed = Promise.withResolvers<void>();
  #maxInFlight: number;
  #records: CallRecords;
  #start: StartInput;

  /** `maxInFlight`: inputs submitted at once; the rest wait here, not in the function's queue. */
  constructor(row: CallRow, maxInFlight: number, records: CallRecords, start: StartInput) {
    this.row = row;
    this.#maxInFlight = maxInFlight;
    this.#records = records;
    this.#start = start;
  }

  get id(): string {
    return this.row.id;
  }

  get finishedAt(): number | undefined {
    return this.row.finishedAt;
  }

  /**
   * Adds an input, stored, then submitted (a refusal fails just that input). A batch keeps a
   * bounded number of inputs submitted at once, so a big one does not overflow the function's queue.
   */
  add(args: Uint8Array, onDone?: () => void): void {
    const index = this.outputs.length;
    this.#records.addInput(this.id, index, args);
    if (onDone) this.#onDone.set(index, onDone);
    this.resume(index, args);
  }

  /** Takes up an input that is already stored: runs it again, or keeps its outcome. */
  resume(index: number, args: Uint8Array, output?: OutputMessage): void {
    this.outputs[index] = output;
    if (output) {
      this.finished++;
      return;
    }
    this.#waiting.push({ index, args });
    this.#feed();
  }

  /** No more inputs will come; the call is done once those it has are. */
  closeInputs(): void {
    if (!this.row.inputsClosed) this.#records.closeInputs(this.id);
    this.row.inputsClosed = true;
    this.#checkDone();
  }

  get done(): boolean {
    return this.row.inputsClosed && this.finished === this.outputs.length;
  }

  /** Resolves when the call is done or `timeoutMs` has passed, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return waitUntilDone(() => this.done, () => this.#changed.promise, timeoutMs);
  }

  /** Cancels every input still running or waiting. */
  cancel(): void {
    this.#cancelled = true;
    for (const { index } of this.#waiting.splice(0)) this.#record(index, failed(Code.CANCELLED, "cancelled"));
    for (const call of this.#running.values()) call.cancel();
  }

  #feed(): void {
    while (this.#running.size < this.#maxInFlight && this.#waiting.length > 0 && !this.#cancelled) {
      const { index, args } = this.#waiting.shift()!;
      let call: PoolCall;
      try {
        call = this.#start(this.row, args);
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
    const output = outcome.failure
      ? { call_id: index, failure: outcome.failure }
      : { call_id: index, value: outcome.value };
    this.outputs[index] = output;
    this.#records.recordOutcome(this.id, output);
    this.#onDone.get(index)?.();
    this.#onDone.delete(index);
    this.finished++;
    this.#checkDone();
  }

  #checkDone(): void {
    if (this.done && this.row.finishedAt === undefined) {
      this.row.finishedAt = Date.now();
      this.#records.finish(this.id, this.row.finishedAt);
    }
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

/** Waits until `isDone()` holds or `timeoutMs` has passed, waking whenever `changed()` settles. */
export async function waitUntilDone(
  isDone: () => boolean,
  changed: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isDone() && Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([changed(), new Promise((resolve) => timer = setTimeout(resolve, deadline - Date.now()))]);
    clearTimeout(timer);
  }
}

/** The record of a call just made; its id says whether it is a batch ("fm-") or a single call ("fc-"). */
export function newCallRow(
  target: { appName: string; version: string; function: string },
  trigger: "spawn" | "map" | "schedule",
  caller: string,
): CallRow {
  return {
    id: `${trigger === "map" ? "fm" : "fc"}-${crypto.randomUUID()}`,
    appName: target.appName,
    version: target.version,
    function: target.function,
    trigger,
    caller,
    createdAt: Date.now(),
    inputsClosed: false,
  };
}

/** Every spawned call: those running in memory, the finished ones in the store. */
export class SpawnedCalls {
  #calls = new Map<string, SpawnedCall>();
  #retentionMs: number;
  #maxInFlight: number;
  #sweeper: ReturnType<typeof setInterval>;
  #records: CallRecords;
  #start: StartInput;
  #store: StoreWrites;

  /**
   * `maxQueuedInputs` is the server's per-function queue: a batch keeps half of it busy at most.
   * `store` commits the records' pending writes.
   */
  constructor(
    options: { retentionMs: number; maxQueuedInputs: number },
    records: CallRecords,
    start: StartInput,
    store: StoreWrites,
  ) {
    this.#retentionMs = options.retentionMs;
    this.#maxInFlight = Math.max(1, Math.floor(options.maxQueuedInputs / 2));
    this.#records = records;
    this.#start = start;
    this.#store = store;
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(Math.max(this.#retentionMs, 1_000), 60_000));
  }

  /** A new call of a function; its id says whether it is a batch ("fm-") or a single call ("fc-"). */
  create(
    target: { appName: string; version: string; function: string },
    trigger: "spawn" | "map" | "schedule",
    caller: string,
  ): SpawnedCall {
    const row = newCallRow(target, trigger, caller);
    this.#records.create(row);
    return this.#hold(row);
  }

  /**
   * Takes up the calls that had not finished when the server last stopped: inputs with an outcome
   * keep it, the others run again. A batch whose upload was cut short gets no more inputs.
   */
  resume(): number {
    const unfinished = this.#records.unfinished();
    for (const row of unfinished) {
      const call = this.#hold(row);
      for (const input of this.#records.inputs(row.id)) call.resume(input.index, input.args, input.output);
      call.closeInputs();
    }
    return unfinished.length;
  }

  /** A call; NOT_FOUND for an unknown id or one past its retention. */
  get(id: string): SpawnedCall | FinishedCall {
    const held = this.#calls.get(id);
    if (held) return held;
    this.#store.commit();
    const row = this.#records.get(id);
    if (row?.finishedAt !== undefined && row.finishedAt >= Date.now() - this.#retentionMs) {
      return new FinishedCall(row, this.#records.inputs(id).map((input) => input.output!));
    }
    throw new StupidModalError(
      Code.NOT_FOUND,
      `no spawned call ${id} (unknown, or finished over ${this.#retentionMs} ms ago)`,
    );
  }

  /** Resolves once what was recorded so far is on disk: a call's id or outcome is given out after that. */
  stored(): Promise<void> {
    return this.#store.committed();
  }

  /** Calls, newest first, with their progress. */
  list(appName: string, limit: number): CallInfo[] {
    this.#store.commit();
    return this.#records.list(appName, limit);
  }

  /** At shutdown: stops sweeping, and leaves unfinished calls unfinished in the store. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#records.freeze();
  }

  #hold(row: CallRow): SpawnedCall {
    const call = new SpawnedCall(row, this.#maxInFlight, this.#records, this.#start);
    this.#calls.set(row.id, call);
    return call;
  }

  #sweep(): void {
    const horizon = Date.now() - this.#retentionMs;
    for (const [id, call] of this.#calls) {
      // Finished calls are served from the store; memory holds what runs.
      if (call.finishedAt !== undefined) this.#calls.delete(id);
    }
    this.#records.deleteFinishedBefore(horizon);
  }
}

/** A finished call read back from the store. */
export class FinishedCall {
  readonly done = true;
  readonly finished: number;
  constructor(readonly row: CallRow, readonly outputs: OutputMessage[]) {
    this.finished = outputs.length;
  }

  get id(): string {
    return this.row.id;
  }

  wait(_timeoutMs: number): Promise<void> {
    return Promise.resolve();
  }

  /** What finished stays finished. */
  cancel(): void {}
}
