/** The charts' data: one point per second over the last minutes, replaced as the server sends them. */
import type { StatsPoint } from "../dashboard_types.ts";

/**
 * Points by second; `window` gives the last `seconds` of them, quiet seconds as zeros.
 *
 * @example
 * ```ts
 * const history = new StatsHistory(300);
 * history.apply(snapshot.stats);
 * history.window().map((point) => point.calls);
 * ```
 */
export class StatsHistory {
  #seconds: number;
  #points = new Map<number, StatsPoint>();
  #last = 0;

  constructor(seconds: number) {
    this.#seconds = seconds;
  }

  /** Adds or replaces points. */
  apply(points: StatsPoint[]): void {
    for (const point of points) {
      this.#points.set(point.second, point);
      this.#last = Math.max(this.#last, point.second);
    }
    for (const second of this.#points.keys()) if (second <= this.#last - this.#seconds) this.#points.delete(second);
  }

  /** Forgets everything (a new snapshot follows). */
  clear(): void {
    this.#points.clear();
    this.#last = 0;
  }

  /** The last `seconds` seconds up to the latest point, oldest first. */
  window(): StatsPoint[] {
    const out: StatsPoint[] = [];
    let executors = 0;
    for (let second = this.#last - this.#seconds + 1; second <= this.#last; second++) {
      const point = this.#points.get(second);
      if (point) executors = point.executors;
      out.push(point ?? { second, calls: 0, failed: 0, p50Ms: 0, p99Ms: 0, executors });
    }
    return out;
  }
}
