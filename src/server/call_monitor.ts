/**
 * The calls the server is handling and has just handled, in memory: each queued, running and
 * finished, with rates and latencies over the last minutes. What the dashboard and soak look at.
 */
import { Code } from "../wire/errors.ts";
import type { Failure } from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";

/** What started a call. */
export type CallTrigger = "session" | "invoke" | "spawn" | "map" | "schedule" | "web";

/** Where a call is. */
export type CallPhase = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** One call, as the monitor keeps it. */
export interface WatchedCall {
  id: string;
  appName: string;
  version: string;
  functionName: string;
  trigger: CallTrigger;
  /** The name of the caller's token. */
  caller: string;
  argsBytes: number;
  phase: CallPhase;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** The executor running (or that ran) it. */
  pid?: number;
  attempts: number;
  resultBytes?: number;
  failure?: Failure;
}

/** Calls per second, and latency percentiles, of one second. */
export interface SecondStats {
  second: number;
  calls: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
}

type Listener = (call: WatchedCall) => void;

/** Finished calls kept for looking at. */
const keptFinished = 2_000;
/** Seconds of statistics kept. */
const keptSeconds = 600;

/** Sees every call; keeps the unfinished ones and the latest finished ones. */
export class CallMonitor {
  #open = new Map<string, WatchedCall>();
  #finished: WatchedCall[] = [];
  #listeners = new Set<Listener>();
  /** Each second's durations while it runs; a second that is over keeps only its figures. */
  #seconds: { second: number; durations: number[]; failed: number; figures?: SecondStats }[] = [];
  #counts = { queued: 0, finished: 0, failed: 0 };

  queued(call: Omit<WatchedCall, "phase" | "queuedAt" | "attempts">): WatchedCall {
    const watched: WatchedCall = { ...call, phase: "queued", queuedAt: Date.now(), attempts: 0 };
    this.#open.set(watched.id, watched);
    this.#counts.queued++;
    this.#tell(watched);
    return watched;
  }

  running(call: WatchedCall, pid: number): void {
    call.phase = "running";
    call.startedAt ??= Date.now();
    call.pid = pid;
    call.attempts++;
    this.#tell(call);
  }

  finished(call: WatchedCall, outcome: CallOutcome, attempts: number): void {
    call.finishedAt = Date.now();
    call.attempts = Math.max(call.attempts, attempts);
    if (outcome.failure) {
      call.failure = outcome.failure;
      call.phase = outcome.failure.code === Code.CANCELLED ? "cancelled" : "failed";
    } else {
      call.phase = "succeeded";
      call.resultBytes = outcome.value.byteLength;
    }
    this.#open.delete(call.id);
    this.#finished.push(call);
    if (this.#finished.length > keptFinished * 1.5) this.#finished.splice(0, this.#finished.length - keptFinished);
    this.#counts.finished++;
    if (outcome.failure) this.#counts.failed++;
    this.#record(call);
    this.#tell(call);
  }

  /** Unfinished calls first, then the latest finished, newest first. */
  calls(limit = keptFinished): WatchedCall[] {
    const open = [...this.#open.values()].reverse();
    return [...open, ...this.#finished.slice(-limit).reverse()].slice(0, limit);
  }

  get(id: string): WatchedCall | undefined {
    return this.#open.get(id) ?? this.#finished.findLast((call) => call.id === id);
  }

  /** Totals since the server started. */
  counts(): { queued: number; finished: number; failed: number; open: number } {
    return { ...this.#counts, open: this.#open.size };
  }

  /** One row per second of the last `seconds` seconds that saw calls finish. */
  stats(seconds = 300): SecondStats[] {
    const since = Math.floor(Date.now() / 1000) - seconds;
    return this.#seconds.filter((entry) => entry.second >= since).map((entry) => entry.figures ?? figures(entry));
  }

  /** Tells `listener` of every change to a call, until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(call: WatchedCall): void {
    const second = Math.floor(call.finishedAt! / 1000);
    let entry = this.#seconds.at(-1);
    if (entry?.second !== second) {
      // Ten minutes of every call's duration would grow with the call rate (~20 MB at 4000 calls/s).
      if (entry) {
        entry.figures = figures(entry);
        entry.durations = [];
      }
      this.#seconds.push(entry = { second, durations: [], failed: 0 });
      if (this.#seconds.length > keptSeconds) this.#seconds.shift();
    }
    entry.durations.push(call.finishedAt! - call.queuedAt);
    if (call.failure) entry.failed++;
  }

  #tell(call: WatchedCall): void {
    for (const listener of this.#listeners) listener(call);
  }
}

/** One second's figures from its calls' durations. */
function figures(entry: { second: number; durations: number[]; failed: number }): SecondStats {
  const sorted = [...entry.durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { second: entry.second, calls: sorted.length, failed: entry.failed, p50Ms: at(0.5), p99Ms: at(0.99) };
}
