/**
 * The server-wide ceilings on executors, shared by every pool: how many run at once
 * (`--max-executors`) and how much heap they may have together (`--max-memory-mb`).
 */

/** A pool that can give back an idle executor when another pool needs room. */
export interface Evictable {
  evictIdle(): boolean;
  dispatch(): void;
  /** Whether inputs wait for room under the server-wide ceilings. */
  hasWaiting(): boolean;
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
  tryAcquire(requester: Evictable, memoryMb: number, evict = true): boolean {
    if (this.#used < this.max && this.#memoryMb + memoryMb <= this.maxMemoryMb) {
      this.#used++;
      this.#memoryMb += memoryMb;
      return true;
    }
    if (!evict) return false;
    for (const pool of this.#pools) {
      if (pool !== requester && pool.evictIdle()) break;
    }
    return false;
  }

  /**
   * Gives back an executor's room. Pools whose inputs wait get the first chance to use it (a warm
   * minimum must not take what was freed for a waiting call); `dispatch: false` only frees it.
   */
  release(memoryMb: number, dispatch = true): void {
    this.#used--;
    this.#memoryMb -= memoryMb;
    if (!dispatch) return;
    const pools = [...this.#pools];
    for (const pool of pools) if (pool.hasWaiting()) pool.dispatch();
    for (const pool of pools) if (!pool.hasWaiting()) pool.dispatch();
  }

  /** Whether a pool other than `pool` has inputs waiting for room. */
  othersWaiting(pool: Evictable): boolean {
    for (const other of this.#pools) if (other !== pool && other.hasWaiting()) return true;
    return false;
  }

  /** Whether an executor of `memoryMb` could ever fit under the ceiling. */
  fits(memoryMb: number): boolean {
    return memoryMb <= this.maxMemoryMb;
  }
}
