/**
 * Writes executor frames to a connection, coalesced: every frame made in one turn goes out in one
 * write, and frames made while a write is under way go out together in the next. Small frames are
 * copied into a buffer (two, taking turns); a large payload is written from where it lies.
 */
import { frameHeaderBytes, type FrameKind, writeFrameHeader } from "./executor_frames.ts";

/** Where frames are written: a connection, or anything with its `write` and `closeWrite`. */
export interface FrameSink {
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
}

/** Payloads up to this size are copied behind their header; larger ones are written in place. */
const inlinePayloadBytes = 16 * 1024;
const initialBufferBytes = 64 * 1024;
const empty = new Uint8Array();

/** Coalescing frame writer of one connection. */
export class FrameWriter {
  #sink: FrameSink;
  /** The buffer frames are copied into now, and a free one for when a write takes it. */
  #buffer = new Uint8Array(initialBufferBytes);
  #view = new DataView(this.#buffer.buffer);
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #used = 0;
  /** Where the part of `#buffer` not yet listed in `#parts` begins. */
  #cut = 0;
  /** Byte ranges to write before the rest of `#buffer`, in order (large payloads, full buffers). */
  #parts: Uint8Array[] = [];
  #writing = false;
  #ending = false;
  #failed = false;
  #drained: PromiseWithResolvers<void> | undefined;
  #afterWrites: (() => void)[] = [];

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  /**
   * Queues one frame; it is written at the end of this turn, or with the next write. A payload
   * given as parts is written as their concatenation, each large part from where it lies.
   */
  frame(kind: FrameKind, id: number, payload: Uint8Array | Uint8Array[] = empty): void {
    if (this.#failed || this.#ending) return;
    const parts = Array.isArray(payload) ? payload : [payload];
    let payloadBytes = 0;
    for (const part of parts) payloadBytes += part.byteLength;
    this.#reserve(frameHeaderBytes + (payloadBytes <= inlinePayloadBytes ? payloadBytes : 0));
    writeFrameHeader(this.#view, this.#used, kind, id, payloadBytes);
    this.#used += frameHeaderBytes;
    for (const part of parts) {
      if (part.byteLength <= inlinePayloadBytes) {
        this.#reserve(part.byteLength);
        this.#buffer.set(part, this.#used);
        this.#used += part.byteLength;
      } else {
        this.#parts.push(this.#buffer.subarray(this.#cut, this.#used), part);
        this.#cut = this.#used;
      }
    }
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => this.#drain());
    }
  }

  /** Whether frames are queued or being written. */
  get writing(): boolean {
    return this.#writing;
  }

  /**
   * Calls `then` once every frame queued so far is written (handed to the operating system), at
   * once if none waits.
   */
  afterWrites(then: () => void): void {
    if (this.#writing) this.#afterWrites.push(then);
    else then();
  }

  /** Writes what is queued, then closes the connection's writing side. */
  async end(): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    if (this.#writing) {
      this.#drained ??= Promise.withResolvers();
      await this.#drained.promise;
    }
    if (!this.#failed) await this.#sink.closeWrite().catch(() => {});
  }

  /** Makes room for `bytes` more in the current buffer. */
  #reserve(bytes: number): void {
    if (this.#used + bytes <= this.#buffer.byteLength) return;
    if (this.#used > this.#cut) this.#parts.push(this.#buffer.subarray(this.#cut, this.#used));
    // The listed parts keep the old buffer alive until written; frames go to a new one.
    this.#buffer = new Uint8Array(Math.max(initialBufferBytes, bytes));
    this.#view = new DataView(this.#buffer.buffer);
    this.#used = this.#cut = 0;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#parts.length > 0 || this.#used > this.#cut) {
        const parts = this.#parts;
        const written = this.#buffer;
        if (this.#used > this.#cut) parts.push(written.subarray(this.#cut, this.#used));
        // Frames made while this write is under way go to the other buffer.
        this.#parts = [];
        this.#buffer = this.#spare ?? new Uint8Array(initialBufferBytes);
        this.#spare = undefined;
        this.#view = new DataView(this.#buffer.buffer);
        this.#used = this.#cut = 0;
        for (const part of parts) {
          let offset = 0;
          while (offset < part.byteLength) offset += await this.#sink.write(part.subarray(offset));
        }
        if (written.byteLength === initialBufferBytes) this.#spare = written;
      }
    } catch {
      // The connection is gone; the process's exit tells the rest.
      this.#failed = true;
      this.#parts = [];
      this.#used = this.#cut = 0;
    }
    this.#writing = false;
    this.#drained?.resolve();
    this.#drained = undefined;
    for (const then of this.#afterWrites.splice(0)) then();
  }
}
