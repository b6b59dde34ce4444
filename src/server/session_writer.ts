/** Batches a session's outputs and log lines: everything ready in one turn goes in one message. */
import type { ItemMessage, LogLineMessage, OutputMessage, SessionResponse } from "../wire/proto.ts";

/** Collects outputs and log lines and writes them together at the end of the current turn. */
export class SessionWriter {
  #write: (message: SessionResponse) => void;
  #pending: SessionResponse = { outputs: [], logs: [], items: [] };
  #queued = false;

  constructor(write: (message: SessionResponse) => void) {
    this.#write = write;
  }

  output(output: OutputMessage): void {
    this.#pending.outputs.push(output);
    this.#queue();
  }

  item(item: ItemMessage): void {
    this.#pending.items.push(item);
    this.#queue();
  }

  log(line: LogLineMessage): void {
    this.#pending.logs.push(line);
    this.#queue();
  }

  /** Writes what is pending now. */
  flush(): void {
    this.#queued = false;
    const message = this.#pending;
    if (message.outputs.length === 0 && message.logs.length === 0 && message.items.length === 0) return;
    this.#pending = { outputs: [], logs: [], items: [] };
    this.#write(message);
  }

  #queue(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => this.flush());
  }
}
