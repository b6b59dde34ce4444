/** The server-wide ceiling on executor processes (`--max-executors`), shared by every pool. */

/** A pool that can give back an idle executor when another pool needs room. */
export interface Evictable {
  evictIdle(): boolean;
  dispatch(): void;
}

/** Counts live executors against the ceiling; evicts idle ones of other pools to make room. */
export class ExecutorBudget {
  readonly max: number;
  #used = 0;
  #pools = new Set<Evictable>();

  constructor(max: number) {
    this.max = max;
  }

  /** Registers a pool (for eviction and for being told when room frees up). */
  join(pool: Evictable): void {
    this.#pools.add(pool);
  }

  /** Forgets a pool. */
  leave(pool: Evictable): void {
    this.#pools.delete(pool);
  }

  /** Takes room for one executor, stopping another pool's idle executor if that is what it takes. */
  tryAcquire(requester: Evictable): boolean {
    if (this.#used >= this.max) {
      for (const pool of this.#pools) {
        if (pool !== requester && pool.evictIdle()) break;
      }
    }
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  /** Gives back room; pools with waiting inputs get a chance to use it. */
  release(): void {
    this.#used--;
    for (const pool of this.#pools) pool.dispatch();
  }

  /** Executors alive now. */
  get used(): number {
    return this.#used;
  }
}
