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
 * input that runs long: sharing a CPU only pays while inputs are quick, so one out alone for over
 * five milliseconds frees both (found within five more), and counting starts again. Only a run of
 * inputs to one executor pins it: inputs alternating between executors would move the pin each time.
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
  /** Quick inputs given in a row to executor `#serialPid`, each while no other was out. */
  #serial = 0;
  #serialPid = 0;
  /** When the input now out alone was given (performance.now()). */
  #aloneSince = 0;
  /** The CPU the server's main thread keeps to, and the executor sharing it. */
  #pinned: { pid: number; cpu: number } | undefined;
  /** While pinned and in use: frees both when the input out alone runs long. */
  #watch: ReturnType<typeof setInterval> | undefined;
  /** Inputs given since the watch last looked. */
  #givenSinceWatch = 0;

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
    if (this.#out > 1) return this.#reset();
    this.#aloneSince = performance.now();
    this.#givenSinceWatch++;
    if (this.#pinned && !this.#watch) this.#startWatch();
    // Inputs alternating between executors would move the pin every time: only a run to one does.
    if (pid !== this.#serialPid) {
      this.#serialPid = pid;
      this.#serial = 0;
    }
    if (++this.#serial < serialInputsToPin || this.#pinned?.pid === pid) return;
    if (this.#pinned) {
      affinity.unpin(this.#pinned.pid);
      this.#pinned.pid = pid;
    } else {
      const cpu = affinity.currentCpu();
      if (!affinity.pinSelf(cpu)) return;
      this.#pinned = { pid, cpu };
      this.#startWatch();
    }
    if (!affinity.pin(pid, this.#pinned.cpu)) this.#release();
  }

  /** `count` inputs given to executors finished (or their executor is gone). */
  finished(count: number): void {
    this.#out -= count;
    if (this.#out === 0 && performance.now() - this.#aloneSince > quickInputMs) this.#reset();
  }

  /** Executor `pid` exited. */
  gone(pid: number): void {
    if (this.#pinned?.pid === pid) this.#release();
  }

  /** Looks every `quickInputMs` while inputs come; stops once a look finds none given or out. */
  #startWatch(): void {
    this.#givenSinceWatch = 0;
    this.#watch = setInterval(() => {
      if (this.#out > 0 && performance.now() - this.#aloneSince > quickInputMs) return this.#reset();
      if (this.#out === 0 && this.#givenSinceWatch === 0) this.#stopWatch();
      this.#givenSinceWatch = 0;
    }, quickInputMs);
    Deno.unrefTimer(this.#watch);
  }

  #stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /** Counting starts again, and the CPUs are freed. */
  #reset(): void {
    this.#serial = 0;
    this.#release();
  }

  #release(): void {
    if (!this.#pinned) return;
    this.#stopWatch();
    this.#affinity!.unpin(this.#pinned.pid);
    // Every thread of the server, including any started while it was pinned (they inherit).
    this.#affinity!.unpin(Deno.pid);
    this.#pinned = undefined;
  }
}
