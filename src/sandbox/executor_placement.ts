/**
 * Where executors run, server-wide: while the server's executors get one input at a time (a
 * caller awaiting each call in turn), the server's main thread and the executor running the
 * inputs keep to one CPU; as soon as two inputs are out at once, both may run anywhere again.
 *
 * Why: each input crosses from the server to an executor and back, and a message to a process
 * asleep on another CPU wakes that CPU. On a virtual machine whose idle CPUs halt at once (this
 * one: guest_halt_poll_ns=0) such a wake-up costs ~25 µs each way; two processes that take turns
 * on one CPU hand over in a context switch (a Unix-socket ping-pong between two Deno processes:
 * ~60 µs on two CPUs, ~11 µs on one). Work that overlaps needs the CPUs apart, and so does an
 * input that runs long: sharing a CPU only pays while inputs are quick, so one that takes over five
 * milliseconds frees both as it finishes, and counting starts again.
 */
import type { CpuAffinity } from "./cpu_affinity.ts";

/** Quick inputs in a row, each the only one out, before the server and its executor share a CPU. */
const serialInputsToPin = 16;
/** An input that ran longer than this (ms) does not count as quick. */
const quickInputMs = 5;

/** Server-wide placement of executors on CPUs. */
export class ExecutorPlacement {
  #affinity: CpuAffinity | undefined;
  /** Inputs given to executors and not finished. */
  #out = 0;
  /** Quick inputs given in a row while no other was out. */
  #serial = 0;
  /** When the input now out alone was given (performance.now()). */
  #aloneSince = 0;
  /** The CPU the server's main thread keeps to, and the executor sharing it. */
  #pinned: { pid: number; cpu: number } | undefined;

  /** Without `affinity` (not Linux, no FFI permission) nothing is ever moved. */
  constructor(affinity: CpuAffinity | undefined) {
    this.#affinity = affinity;
  }

  /**
   * Executor `pid` was just started. A child inherits its parent's CPUs; it may run anywhere
   * until it is given inputs on its own.
   */
  spawned(pid: number): void {
    if (this.#pinned) this.#affinity!.unpin(pid);
  }

  /** An input is about to be written to executor `pid`. */
  giving(pid: number): void {
    this.#out++;
    const affinity = this.#affinity;
    if (!affinity) return;
    if (this.#out > 1) {
      this.#serial = 0;
      this.#release();
      return;
    }
    this.#aloneSince = performance.now();
    if (++this.#serial < serialInputsToPin || this.#pinned?.pid === pid) return;
    const cpu = this.#pinned?.cpu ?? affinity.currentCpu();
    if (this.#pinned) affinity.unpin(this.#pinned.pid);
    else affinity.pinSelf(cpu);
    this.#pinned = { pid, cpu };
    if (!affinity.pin(pid, cpu)) this.#release();
  }

  /** `count` inputs given to executors finished (or their executor is gone). */
  finished(count: number): void {
    this.#out -= count;
    if (this.#out === 0 && performance.now() - this.#aloneSince > quickInputMs) {
      this.#serial = 0;
      this.#release();
    }
  }

  /** Executor `pid` exited. */
  gone(pid: number): void {
    if (this.#pinned?.pid === pid) this.#release();
  }

  #release(): void {
    if (!this.#pinned) return;
    this.#affinity!.unpin(this.#pinned.pid);
    this.#affinity!.pinSelf(undefined);
    this.#pinned = undefined;
  }
}
