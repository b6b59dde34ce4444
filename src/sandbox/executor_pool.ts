/**
 * The warm executors of one function of one app version: started on demand up to a cap, kept
 * warm between calls, stopped after an idle window; inputs beyond capacity wait in order.
 */
import { Code, type StupidModalError } from "../wire/errors.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import type { Evictable, ExecutorBudget } from "./executor_budget.ts";
import type { ExecutorLogLine } from "./executor_messages.ts";
import { ExecutorProcess, type ExecutorSpec } from "./executor_process.ts";

/** Limits of one pool. */
export interface PoolSettings {
  maxExecutors: number;
  scaledownMs: number;
  /** How long an executor may take to load the app before it is killed. */
  startTimeoutMs: number;
}

/** One input handed to a pool. */
export interface PoolInput {
  id: number;
  args: Uint8Array;
  timeoutMs: number;
  onLog: (line: ExecutorLogLine) => void;
}

/** A submitted input: its outcome, and a way to cancel it. */
export interface PoolCall {
  outcome: Promise<CallOutcome>;
  cancel(): void;
}

interface QueuedInput extends PoolInput {
  settle: (outcome: CallOutcome) => void;
  executor?: ExecutorProcess;
}

/** A pool of executors for one function. */
export class ExecutorPool implements Evictable {
  #spec: ExecutorSpec;
  #settings: PoolSettings;
  #budget: ExecutorBudget;
  #queue: QueuedInput[] = [];
  #idle: ExecutorProcess[] = [];
  #live = new Set<ExecutorProcess>();
  #idleTimers = new Map<ExecutorProcess, ReturnType<typeof setTimeout>>();
  #starting = 0;
  #closed = false;
  #onEmpty: () => void;

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
    const queued: QueuedInput = { ...input, settle: settled.resolve };
    if (this.#closed) queued.settle(failed(Code.UNAVAILABLE, "the server is shutting down"));
    else {
      this.#queue.push(queued);
      this.dispatch();
    }
    return { outcome: settled.promise, cancel: () => this.#cancel(queued) };
  }

  /** Matches waiting inputs with idle executors, starting executors while under the caps. */
  dispatch(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const executor = this.#idle.pop();
      if (executor) {
        this.#run(executor, this.#queue.shift()!);
        continue;
      }
      const underCap = this.#live.size < this.#settings.maxExecutors;
      if (!underCap || this.#starting >= this.#queue.length || !this.#budget.tryAcquire(this)) return;
      this.#startExecutor();
    }
  }

  /** Stops one idle executor to make room for another pool; false if none is idle. */
  evictIdle(): boolean {
    const executor = this.#idle.shift();
    if (!executor) return false;
    this.#retire(executor);
    executor.stop();
    return true;
  }

  /** Executors alive now, busy or idle. */
  get size(): number {
    return this.#live.size;
  }

  /** Fails waiting inputs, kills every executor and waits until they are gone. */
  async close(reason: CallOutcome): Promise<void> {
    this.#closed = true;
    for (const input of this.#queue.splice(0)) input.settle(reason);
    const exits = [...this.#live].map((executor) => {
      executor.kill(reason);
      return executor.exited;
    });
    await Promise.allSettled(exits);
    this.#budget.leave(this);
  }

  #startExecutor(): void {
    let executor: ExecutorProcess;
    try {
      executor = ExecutorProcess.spawn(this.#spec);
    } catch (err) {
      this.#budget.release();
      this.#failWaiting(Code.RESOURCE_EXHAUSTED, `cannot start an executor: ${(err as Error).message}`);
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
        this.#makeIdle(executor);
        this.dispatch();
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

  #run(executor: ExecutorProcess, input: QueuedInput): void {
    clearTimeout(this.#idleTimers.get(executor));
    this.#idleTimers.delete(executor);
    input.executor = executor;
    const timer = setTimeout(() => {
      this.#retire(executor);
      executor.kill(failed(Code.DEADLINE_EXCEEDED, `the call exceeded its timeout of ${input.timeoutMs} ms`));
    }, input.timeoutMs);
    executor.run(input.id, input.args, input.onLog).then((outcome) => {
      clearTimeout(timer);
      input.executor = undefined;
      input.settle(outcome);
      if (executor.usable && !this.#closed) {
        this.#makeIdle(executor);
        this.dispatch();
      }
    });
  }

  #cancel(input: QueuedInput): void {
    const index = this.#queue.indexOf(input);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      input.settle(failed(Code.CANCELLED, "cancelled by the caller"));
    } else if (input.executor) {
      // A Worker cannot be stopped mid-call, so the process goes; the pool replaces it.
      this.#retire(input.executor);
      input.executor.kill(failed(Code.CANCELLED, "cancelled by the caller"));
    }
  }

  #makeIdle(executor: ExecutorProcess): void {
    this.#idle.push(executor);
    this.#idleTimers.set(
      executor,
      setTimeout(() => {
        const index = this.#idle.indexOf(executor);
        if (index < 0) return;
        this.#idle.splice(index, 1);
        this.#retire(executor);
        executor.stop();
      }, this.#settings.scaledownMs),
    );
  }

  /** Takes an executor out of the idle list for good (its caller then kills or stops it). */
  #retire(executor: ExecutorProcess): void {
    const index = this.#idle.indexOf(executor);
    if (index >= 0) this.#idle.splice(index, 1);
    clearTimeout(this.#idleTimers.get(executor));
    this.#idleTimers.delete(executor);
  }

  #forget(executor: ExecutorProcess): void {
    this.#retire(executor);
    this.#live.delete(executor);
    this.#budget.release();
    if (this.#live.size === 0 && this.#queue.length === 0 && !this.#closed) this.#onEmpty();
  }
}
