/**
 * The server-wide ceilings on executors, shared by every pool: how many run at once
 * (`--max-executors`) and how much heap they may have together (`--max-memory-mb`).
 */

/** A pool that can give back an idle executor when another pool needs room. */
export interface Evictable {
  evictIdle(): boolean;
  dispatch(): void;
}

/** Counts live executors and their heaps against the ceilings; evicts idle ones of other pools to make room. */
export class ExecutorBudget {
  readonly max: number;
  readonly maxMemoryMb: number;
  #used = 0;
  #memoryMb = 0;
  #pools = new Set<Evictable>();

  constructor(max: number, maxMemoryMb: number) {
    this.max = max;
    this.maxMemoryMb = maxMemoryMb;
  }

  /** Registers a pool (for eviction and for being told when room frees up). */
  join(pool: Evictable): void {
    this.#pools.add(pool);
  }

  /** Forgets a pool. */
  leave(pool: Evictable): void {
    this.#pools.delete(pool);
  }

  /**
   * Takes room for one executor with a heap of `memoryMb`. When there is none, stops one idle
   * executor of another pool (its room comes back when it has exited) and says no for now.
   */
  tryAcquire(requester: Evictable, memoryMb: number): boolean {
    if (this.#used < this.max && this.#memoryMb + memoryMb <= this.maxMemoryMb) {
      this.#used++;
      this.#memoryMb += memoryMb;
      return true;
    }
    for (const pool of this.#pools) {
      if (pool !== requester && pool.evictIdle()) break;
    }
    return false;
  }

  /** Gives back an executor's room; pools with waiting inputs get a chance to use it. */
  release(memoryMb: number): void {
    this.#used--;
    this.#memoryMb -= memoryMb;
    for (const pool of this.#pools) pool.dispatch();
  }

  /** Executors alive now. */
  get used(): number {
    return this.#used;
  }
}
