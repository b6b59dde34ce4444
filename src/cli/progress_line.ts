/**
 * A map's progress on stderr: on a terminal, one line redrawn in place (done/total, inputs/s,
 * failures); otherwise a plain line every few seconds and a summary at the end.
 */

const encoder = new TextEncoder();

/** How often the line is redrawn on a terminal, and how often a plain line is printed otherwise. */
const redrawMs = 200;
const plainEveryMs = 5_000;

/**
 * Counts a map's inputs and shows how far it is.
 *
 * @example
 * ```ts
 * const progress = new ProgressLine("map");
 * progress.start();
 * progress.settled(false);
 * progress.print("stdout", () => console.log("a result"));
 * progress.finish();
 * ```
 */
export class ProgressLine {
  /** Inputs in all, once known (when the inputs ended). */
  total: number | undefined;
  done = 0;
  failed = 0;
  readonly interactive: boolean;
  #label: string;
  #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #shown = false;

  /** `interactive` defaults to whether stderr is a terminal. */
  constructor(label: string, interactive = Deno.stderr.isTerminal()) {
    this.#label = label;
    this.interactive = interactive;
  }

  /** Starts showing progress. */
  start(): void {
    this.#started = performance.now();
    if (this.interactive) {
      this.#timer = setInterval(() => this.#draw(), redrawMs);
      this.#draw();
    } else {
      this.#timer = setInterval(() => writeStderr(`${this.#text()}\n`), plainEveryMs);
    }
  }

  /** Counts one input that finished, failed or not. */
  settled(failed: boolean): void {
    this.done++;
    if (failed) this.failed++;
  }

  /**
   * Runs `write`, which prints a line to `stream`, without garbling the progress line: the line is
   * taken away first when both share the terminal, and redrawn at the next tick.
   */
  print(stream: "stdout" | "stderr", write: () => void): void {
    if (stream === "stderr" || Deno.stdout.isTerminal()) this.#clear();
    write();
  }

  /** Stops, and prints the summary as a plain line. */
  finish(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(2);
    const inputs = this.done === 1 ? "1 input" : `${this.done} inputs`;
    const failed = this.failed > 0 ? `, ${this.failed} failed` : "";
    writeStderr(`${this.#label}: ${inputs} done in ${seconds} s (${this.#rate()} inputs/s)${failed}\n`);
  }

  #text(): string {
    const count = this.total === undefined ? `${this.done} done` : `${this.done}/${this.total} done`;
    return `${this.#label}: ${count}, ${this.#rate()} inputs/s, ${this.failed} failed`;
  }

  #rate(): string {
    const seconds = (performance.now() - this.#started) / 1000;
    return seconds > 0 ? (this.done / seconds).toFixed(1) : "0.0";
  }

  #draw(): void {
    writeStderr(`\r\x1b[2K${this.#text()}`);
    this.#shown = true;
  }

  #clear(): void {
    if (!this.#shown) return;
    writeStderr("\r\x1b[2K");
    this.#shown = false;
  }
}

/** Writes all of `text` to stderr, now. */
export function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}
