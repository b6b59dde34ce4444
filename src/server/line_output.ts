/**
 * The server's printed lines (one per call, lifecycle notes): those made together go to stdout in
 * one write, instead of one write each. They are written at the end of the microtask that made
 * the first of them, so a call's line is out before its result is sent.
 */

/**
 * Lines for stdout, written together once the current microtasks are done.
 *
 * @example
 * ```ts
 * const output = new LineOutput();
 * output.write("listening on 127.0.0.1:50051");
 * output.flush(); // before Deno.exit
 * ```
 */
export class LineOutput {
  #lines: string[] = [];
  #queued = false;
  #encoder = new TextEncoder();
  #flush = () => this.flush();

  /** Queues one line (without its newline). */
  write(line: string): void {
    this.#lines.push(line);
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(this.#flush);
  }

  /** Writes the queued lines now. */
  flush(): void {
    this.#queued = false;
    if (this.#lines.length === 0) return;
    const bytes = this.#encoder.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    try {
      for (let written = 0; written < bytes.byteLength;) written += Deno.stdout.writeSync(bytes.subarray(written));
    } catch {
      // Nobody reads our output any more; the lines have nowhere to go.
    }
  }
}
