/**
 * The warm executors of one function of one app version: started on demand up to a cap, kept
 * warm between calls, stopped after an idle window; inputs beyond capacity wait in order. While
 * the function's recent inputs were quick, a busy executor is also given a few inputs to run next
 * (about two milliseconds' worth), so that inputs and results travel in batches.
 */
import { Code, type StupidModalError } from "../wire/errors.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import type { Evictable, ExecutorBudget } from "./executor_budget.ts";
import type { Bytes } from "../wire/value_chunks.ts";
import type { ExecutorLogLine } from "./executor_messages.ts";
import { type ExecutorEvents, ExecutorProcess, type ExecutorSpec } from "./executor_process.ts";

/** Work given to a busy executor beyond what it runs at once: about this much, by the recent pace. */
const prefetchMs = 2;
/** And at most this many inputs. */
const maxPrefetch = 64;

/** Limits of one pool. */
export interface PoolSettings {
  /** Executors kept warm even when idle. */
  minExecutors: number;
  maxExecutors: number;
  scaledownMs: number;
  /** How long an executor may take to load the app before it is killed. */
  startTimeoutMs: number;
  /** Inputs that may wait for an executor; more is RESOURCE_EXHAUSTED. */
  maxQueued: number;
  /** Inputs one executor runs at once (for functions that mostly wait on I/O). */
  maxInputs: number;
}

/** One input handed to a pool. */
export interface PoolInput {
  id: number;
  /** The CBOR arguments, whole or in pieces (written to the executor one after the other). */
  args: Bytes;
  /** For a class: the method to call. */
  method?: string;
  /** For a generator: receives each yielded value (CBOR). */
  onItem?: (value: Uint8Array) => void;
  timeoutMs: number;
  onLog: (line: ExecutorLogLine) => void;
  /** Hears when the input starts on an executor (each attempt), with the executor's pid. */
  onStart?: (pid: number) => void;
}

/** One executor as the operator sees it. */
export interface ExecutorInfo {
  pid: number;
  state: "starting" | "idle" | "busy" | "stopping";
  /** Inputs running on it now. */
  load: number;
  /** Inputs it has run. */
  served: number;
  startedAt: number;
}

/** A submitted input: its outcome, and a way to cancel it. */
export interface PoolCall {
  outcome: Promise<CallOutcome>;
  cancel(): void;
  /** For a generator: lets it yield `count` more items. */
  credit(count: number): void;
}

interface QueuedInput extends PoolInput {
  settle: (outcome: CallOutcome) => void;
  executor?: ExecutorProcess<QueuedInput>;
  /** When it started on its executor (performance.now()); 0 before. */
  startedAt: number;
}

/** A pool of executors for one function. */
export class ExecutorPool implements Evictable {
  #spec: ExecutorSpec;
  #settings: PoolSettings;
  #budget: ExecutorBudget;
  #queue: QueuedInput[] = [];
  /** Loaded executors still in service, busy or not. */
  #ready: ExecutorProcess<QueuedInput>[] = [];
  #live = new Set<ExecutorProcess<QueuedInput>>();
  #idleTimers = new Map<ExecutorProcess<QueuedInput>, ReturnType<typeof setTimeout>>();
  /** When each idle executor last went idle (performance.now()). */
  #idleSince = new Map<ExecutorProcess<QueuedInput>, number>();
  #starting = 0;
  #closed = false;
  /** Inputs wait because the server-wide ceilings left no room (not this pool's own cap). */
  #blocked = false;
  #onEmpty: () => void;
  /** What closed the pool, for inputs handed back afterwards. */
  #closeReason: CallOutcome | undefined;
  /** Milliseconds an input ran, on recent average; unknown before the first. */
  #paceMs: number | undefined;

  /** `onEmpty` hears when the last executor is gone and nothing waits, so the pool can be dropped. */
  constructor(spec: ExecutorSpec, settings: PoolSettings, budget: ExecutorBudget, onEmpty: () => void) {
    this.#onEmpty = onEmpty;
    this.#spec = spec;
    this.#settings = settings;
    this.#budget = budget;
    budget.join(this);
  }

  /** Queues an input; it runs as soon as an executor is free. */
  submit(input: PoolInput): PoolCall {
    const settled = Promise.withResolvers<CallOutcome>();
    const queued: QueuedInput = { ...input, settle: settled.resolve, startedAt: 0 };
    if (this.#closed) queued.settle(failed(Code.UNAVAILABLE, "the server is shutting down"));
    else if (!this.#budget.fits(this.#spec.memoryMb)) {
      const message =
        `the function's ${this.#spec.memoryMb} MB heap is over the server's ${this.#budget.maxMemoryMb} MB ` +
        `for all executors together (--max-memory-mb)`;
      queued.settle(failed(Code.RESOURCE_EXHAUSTED, message));
    } else if (this.#queue.length >= this.#settings.maxQueued) {
      const message = `${this.#queue.length} inputs already wait for this function, the most this server queues ` +
        `(--max-queued-inputs); retry later or send fewer at once`;
      queued.settle(failed(Code.RESOURCE_EXHAUSTED, message));
    } else {
      this.#queue.push(queued);
      this.dispatch();
    }
    return {
      outcome: settled.promise,
      cancel: () => this.#cancel(queued),
      credit: (count) => queued.executor?.credit(queued.id, count),
    };
  }

  /**
   * Matches waiting inputs with idle executors, starting executors while under the caps, and keeps
   * the minimum warm.
   */
  dispatch(): void {
    if (this.#closed) return;
    const { maxInputs } = this.#settings;
    const depth = this.#prefetchDepth();
    /** The busy executor being topped up in this pass. */
    let topping: ExecutorProcess<QueuedInput> | undefined;
    while (this.#queue.length > 0) {
      let executor = this.#ready.find((candidate) => candidate.usable && candidate.load < maxInputs);
      if (
        !executor && this.#starting * maxInputs < this.#queue.length && this.#live.size < this.#settings.maxExecutors
      ) {
        // Out of server-wide room: other pools' idle executors will make way for these inputs.
        this.#blocked = !this.#budget.tryAcquire(this, this.#spec.memoryMb, true);
        if (!this.#blocked) {
          this.#startExecutor();
          continue;
        }
      }
      // No room to run it now: a busy executor takes it next, if its recent pace says that is soon.
      // One is topped up only once it has run half of what it had waiting, and then in full, so
      // that inputs go out in batches.
      if (!executor && !(topping && topping.usable && topping.load < maxInputs + depth)) {
        topping = this.#leastLoaded(maxInputs + (depth >> 1) + 1);
      }
      executor ??= topping;
      if (!executor) return;
      this.#run(executor, this.#queue.shift()!);
    }
    this.#blocked = false;
    // A warm minimum takes free room only: it never stops another function's executors.
    while (
      this.#usableCount() < this.#settings.minExecutors && this.#live.size < this.#settings.maxExecutors &&
      this.#budget.tryAcquire(this, this.#spec.memoryMb, false)
    ) this.#startExecutor();
  }

  /** Lets the pool shrink to nothing when idle (its app has a newer version). */
  releaseMinimum(): void {
    this.#settings = { ...this.#settings, minExecutors: 0 };
    for (const executor of this.#ready) if (executor.load === 0) this.#armScaledown(executor);
  }

  /** Its executors, for the operator's eyes. */
  describe(): ExecutorInfo[] {
    return [...this.#live].map((executor) => ({
      pid: executor.pid,
      state: !executor.usable
        ? "stopping"
        : !this.#ready.includes(executor)
        ? "starting"
        : executor.load > 0
        ? "busy"
        : "idle",
      load: executor.running,
      served: executor.served,
      startedAt: executor.startedAt,
    }));
  }

  hasWaiting(): boolean {
    return this.#blocked && this.#queue.length > 0 && !this.#closed;
  }

  /** Stops one idle executor to make room for another pool; false if none is idle. */
  evictIdle(): boolean {
    const executor = this.#ready.find((candidate) => candidate.load === 0);
    if (!executor) return false;
    this.#retire(executor);
    executor.stop();
    return true;
  }

  /** Fails waiting inputs, kills every executor and waits until they are gone. */
  async close(reason: CallOutcome): Promise<void> {
    this.#closed = true;
    this.#closeReason = reason;
    for (const input of this.#queue.splice(0)) input.settle(reason);
    // Idle executors stop on their own (a class's exit hook runs); busy ones are killed.
    const exits = [...this.#live].map((executor) => {
      if (this.#ready.includes(executor) && executor.load === 0) executor.stop();
      else executor.kill(reason);
      return executor.exited;
    });
    await Promise.allSettled(exits);
    this.#budget.leave(this);
  }

  #startExecutor(): void {
    let executor: ExecutorProcess<QueuedInput>;
    const events: ExecutorEvents<QueuedInput> = {
      started: (input) => {
        input.startedAt = performance.now();
        input.onStart?.(executor.pid);
      },
      finished: (input, outcome) => this.#finished(executor, input, outcome),
      unstarted: (inputs) => this.#handBack(inputs),
    };
    try {
      executor = ExecutorProcess.spawn(this.#spec, this.#settings.maxInputs, events);
    } catch (err) {
      // Fail what waits first, and free the room without dispatching: dispatching would try to
      // start the same executor again, and again.
      this.#failWaiting(Code.RESOURCE_EXHAUSTED, `cannot start an executor: ${(err as Error).message}`);
      this.#budget.release(this.#spec.memoryMb, false);
      return;
    }
    this.#live.add(executor);
    this.#starting++;
    executor.exited.then(() => this.#forget(executor));
    // A module whose top level never finishes must not hold its inputs forever.
    const loadTimer = setTimeout(() => {
      const message = `the app did not finish loading within ${this.#settings.startTimeoutMs} ms`;
      executor.kill(failed(Code.DEADLINE_EXCEEDED, message));
    }, this.#settings.startTimeoutMs);
    executor.ready.then(
      () => {
        clearTimeout(loadTimer);
        this.#starting--;
        if (this.#closed || !executor.usable) return;
        this.#ready.push(executor);
        this.dispatch();
        this.#idleOrYield(executor);
      },
      (err: StupidModalError) => {
        clearTimeout(loadTimer);
        this.#starting--;
        this.#retire(executor);
        executor.kill(failed(err.code, err.message));
        // The app cannot load (a top-level throw, a missing function): waiting inputs would fail
        // the same way, so they fail now rather than spawn executor after executor.
        this.#failWaiting(err.code, err.message);
      },
    );
  }

  #failWaiting(code: Code, message: string): void {
    for (const input of this.#queue.splice(0)) input.settle(failed(code, message));
  }

  #run(executor: ExecutorProcess<QueuedInput>, input: QueuedInput): void {
    // Its scale-down timer, if any, finds it busy (or idle again since) when it fires.
    input.executor = executor;
    executor.run(input);
  }

  #finished(executor: ExecutorProcess<QueuedInput>, input: QueuedInput, outcome: CallOutcome): void {
    if (input.startedAt > 0) {
      const ms = performance.now() - input.startedAt;
      this.#paceMs = this.#paceMs === undefined ? ms : this.#paceMs + (ms - this.#paceMs) / 8;
    }
    input.executor = undefined;
    input.settle(outcome);
    if (!executor.usable || this.#closed) return;
    // Topped up once half of what it had waiting has run (see dispatch).
    if (executor.load <= this.#settings.maxInputs + (this.#prefetchDepth() >> 1)) this.dispatch();
    this.#idleOrYield(executor);
  }

  /** Inputs that never started on an executor that is gone: first in line again, in their order. */
  #handBack(inputs: QueuedInput[]): void {
    if (this.#closed) {
      for (const input of inputs) input.settle(this.#closeReason ?? failed(Code.UNAVAILABLE, "the pool closed"));
      return;
    }
    for (const input of inputs) input.executor = undefined;
    this.#queue.unshift(...inputs);
    this.dispatch();
  }

  /** Inputs a busy executor may hold beyond those it runs: none until the function proves quick. */
  #prefetchDepth(): number {
    if (this.#paceMs === undefined) return 0;
    return Math.min(maxPrefetch, Math.floor(prefetchMs / Math.max(this.#paceMs, 0.01)));
  }

  /** The usable executor with the fewest inputs, if it has fewer than `limit`. */
  #leastLoaded(limit: number): ExecutorProcess<QueuedInput> | undefined {
    let best: ExecutorProcess<QueuedInput> | undefined;
    for (const executor of this.#ready) {
      if (executor.usable && executor.load < limit && (!best || executor.load < best.load)) best = executor;
    }
    return best;
  }

  #cancel(input: QueuedInput): void {
    const index = this.#queue.indexOf(input);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      input.settle(failed(Code.CANCELLED, "cancelled by the caller"));
    } else if (input.executor && !input.executor.cancel(input.id)) {
      // Let go: it waited and is dropped, or runs on beside others unheard (a generator stops at
      // its next yield); its deadline no longer threatens its neighbours.
      input.settle(failed(Code.CANCELLED, "cancelled by the caller"));
    }
  }

  /**
   * An executor with nothing to do: stopped at once when another function's inputs wait for room
   * (waiting calls come before warm minimums), else stopped after the scale-down window.
   */
  #idleOrYield(executor: ExecutorProcess<QueuedInput>): void {
    if (executor.load > 0) return;
    if (this.#budget.othersWaiting(this)) {
      this.#retire(executor);
      executor.stop();
    } else {
      this.#armScaledown(executor);
    }
  }

  /**
   * Stops an idle executor after the scale-down window, unless the pool is at its minimum. One
   * timer per executor, moved on when it finds the executor idle for less than the window, rather
   * than one per call.
   */
  #armScaledown(executor: ExecutorProcess<QueuedInput>): void {
    this.#idleSince.set(executor, performance.now());
    if (!this.#idleTimers.has(executor)) this.#scaledownIn(executor, this.#settings.scaledownMs);
  }

  #scaledownIn(executor: ExecutorProcess<QueuedInput>, ms: number): void {
    this.#idleTimers.set(
      executor,
      setTimeout(() => {
        this.#idleTimers.delete(executor);
        if (!this.#ready.includes(executor) || executor.load > 0) return;
        const idleMs = performance.now() - (this.#idleSince.get(executor) ?? 0);
        if (idleMs < this.#settings.scaledownMs) {
          return this.#scaledownIn(executor, this.#settings.scaledownMs - idleMs);
        }
        if (this.#usableCount() <= this.#settings.minExecutors) return;
        this.#retire(executor);
        executor.stop();
      }, ms),
    );
  }

  /** Executors alive and not on their way out. */
  #usableCount(): number {
    let count = 0;
    for (const executor of this.#live) if (executor.usable) count++;
    return count;
  }

  /** Takes an executor out of service for good (its caller then kills or stops it). */
  #retire(executor: ExecutorProcess<QueuedInput>): void {
    const index = this.#ready.indexOf(executor);
    if (index >= 0) this.#ready.splice(index, 1);
    clearTimeout(this.#idleTimers.get(executor));
    this.#idleTimers.delete(executor);
    this.#idleSince.delete(executor);
  }

  #forget(executor: ExecutorProcess<QueuedInput>): void {
    this.#retire(executor);
    this.#live.delete(executor);
    this.#budget.release(this.#spec.memoryMb);
    if (this.#closed) return;
    if (this.#live.size === 0 && this.#queue.length === 0 && this.#settings.minExecutors === 0) this.#onEmpty();
    else this.dispatch();
  }
}
