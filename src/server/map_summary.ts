/**
 * One map's successful inputs, logged together: a line when the map has nothing left running and
 * at most a second apart while it runs, instead of a line per input (a map of 100 000 inputs would
 * print 100 000). Failed inputs keep their own lines.
 */

/** How long successes wait, at most, before their summary line. */
const summaryIntervalMs = 1000;

/** What a summary tells its keepers. */
export interface SummaryEvents {
  /** An input is in flight where none was. */
  onBusy?: () => void;
  /** No input is in flight any more. */
  onIdle?: () => void;
}

/**
 * Counts a map's inputs in flight and its successes since the last line.
 *
 * @example
 * ```ts
 * const summary = new MapSummary("demo.add", (line) => console.log(line));
 * summary.started();
 * summary.succeeded(1.5);
 * summary.settled(); // prints "map demo.add 1 ok (mean 1.5ms)"
 * ```
 */
export class MapSummary {
  #label: string;
  #write: (line: string) => void;
  #events: SummaryEvents;
  #inFlight = 0;
  #ok = 0;
  #totalMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `label` names the function ("app.fn"); `events` hears when inputs start and stop being in flight. */
  constructor(label: string, write: (line: string) => void, events: SummaryEvents = {}) {
    this.#label = label;
    this.#write = write;
    this.#events = events;
  }

  /** An input was submitted. */
  started(): void {
    if (this.#inFlight++ === 0) this.#events.onBusy?.();
  }

  /** An input succeeded after `ms`; it is counted in the next line. */
  succeeded(ms: number): void {
    this.#ok++;
    this.#totalMs += ms;
    this.#timer ??= setTimeout(() => this.flush(), summaryIntervalMs);
  }

  /** An input finished, either way; with none left in flight, the line is written now. */
  settled(): void {
    if (--this.#inFlight > 0) return;
    this.flush();
    this.#events.onIdle?.();
  }

  /** Writes the line of the successes since the last one, if any. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ok === 0) return;
    const line = `map ${this.#label} ${this.#ok} ok (mean ${(this.#totalMs / this.#ok).toFixed(1)}ms)`;
    this.#ok = 0;
    this.#totalMs = 0;
    this.#write(line);
  }
}
