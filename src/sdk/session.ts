/**
 * The caller's end of the session stream: many calls multiplexed by id on one long-lived
 * bidirectional stream, calls of one turn batched into one message (a lone call goes at once, at
 * the end of its microtask; while others are out, at the end of the turn), log lines routed to
 * their call. Arguments and results over a MiB travel in pieces (value_chunks.ts). The stream
 * opens on the first call and closes once nothing is outstanding, so an idle caller's process can
 * exit.
 */
import { setImmediate } from "node:timers";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { LogLineMessage, OutputMessage, SessionResponse } from "../wire/proto.ts";
import type { OutgoingCall, OutgoingRequest } from "../wire/session_request_codec.ts";
import { failureToError } from "./failure.ts";
import { partsLength } from "../wire/cbor_parts.ts";
import { chunkBytes, joinPieces, splitParts } from "../wire/value_chunks.ts";

/** Receives a remote function's printed lines while its call runs. */
export type LogHandler = (line: LogLineMessage) => void;

interface PendingCall {
  /** Pieces of a large result received so far (ValueChunks). */
  pieces?: Uint8Array[];
  resolve: (value: Uint8Array) => void;
  reject: (error: StupidModalError) => void;
  onLog: LogHandler;
  onItem?: (value: Uint8Array) => void;
  /** The caller's abort signal, if it gave one. */
  signal?: AbortSignal;
}

/** The calls that one abort signal cancels, and the one listener on it. */
interface Watched {
  callIds: Set<number>;
  onAbort: () => void;
}

/** The caller's end of a Session stream: grpc-js's duplex stream, or an Http2SessionStream. */
export interface SessionStream {
  write(request: OutgoingRequest, done?: () => void): boolean;
  end(): void;
  cancel(): void;
  on(event: "data", listener: (response: SessionResponse) => void): unknown;
  on(event: "error", listener: (err: unknown) => void): unknown;
  on(event: "end", listener: () => void): unknown;
}

/** How long a stream with nothing outstanding stays open for the next call. */
const idleCloseMs = 5;

/** One caller's multiplexed session. */
export class Session {
  #open: () => SessionStream;
  #describeError: (err: unknown) => StupidModalError;
  #stream: SessionStream | undefined;
  #pending = new Map<number, PendingCall>();
  #outbox: OutgoingRequest = { calls: [], cancels: [], acks: [] };
  #flushQueued = false;
  #closeQueued = false;
  /** One listener per abort signal, however many calls it cancels (a map gives all its calls one). */
  #watched = new Map<AbortSignal, Watched>();
  #nextId = 1;
  #flush = () => this.#flushNow();
  /** Large arguments still to send, a piece at a time, after their calls went out. */
  #uploads: { callId: number; pieces: Uint8Array[][] }[] = [];
  #uploading = false;

  constructor(open: () => SessionStream, describeError: (err: unknown) => StupidModalError) {
    this.#open = open;
    this.#describeError = describeError;
  }

  /** Sends one call; resolves with its CBOR result, rejects with its failure. */
  call(
    call: Omit<OutgoingCall, "call_id">,
    onLog: LogHandler,
    signal?: AbortSignal,
    onItem?: (value: Uint8Array, ack: () => void) => void,
  ): Promise<Uint8Array> {
    if (signal?.aborted) {
      return Promise.reject(new StupidModalError(Code.CANCELLED, "call cancelled by the caller"));
    }
    const callId = this.#nextId++;
    if (signal) this.#watch(signal, callId);
    return new Promise<Uint8Array>((resolve, reject) => {
      const itemHandler = onItem && ((value: Uint8Array) => onItem(value, () => this.#ack(callId)));
      this.#pending.set(callId, { resolve, reject, onLog, onItem: itemHandler, signal });
      const size = partsLength(call.args);
      if (size <= chunkBytes) {
        this.#outbox.calls.push({ ...call, call_id: callId, accept_chunks: true });
      } else {
        // The first piece goes with the call; the others follow, one message each.
        const [first, ...rest] = splitParts(call.args);
        this.#outbox.calls.push({ ...call, call_id: callId, args: first, args_size: size, accept_chunks: true });
        this.#uploads.push({ callId, pieces: rest });
      }
      this.#queueFlush();
    });
  }

  /** Cancels one call on the server; it rejects with CANCELLED. */
  cancel(callId: number): void {
    const pending = this.#pending.get(callId);
    if (!pending) return;
    this.#settle(callId);
    this.#outbox.cancels.push({ call_id: callId });
    this.#queueFlush();
    pending.reject(new StupidModalError(Code.CANCELLED, "call cancelled by the caller"));
  }

  /** Grants a generator call credit for one more item (sent in batches, with the next flush). */
  #ack(callId: number): void {
    if (!this.#pending.has(callId)) return;
    const last = this.#outbox.acks.at(-1);
    if (last?.call_id === callId) last.count++;
    else this.#outbox.acks.push({ call_id: callId, count: 1 });
    this.#queueFlush();
  }

  /** Ends the stream; outstanding calls fail with CANCELLED. */
  close(): void {
    this.#failAll(new StupidModalError(Code.CANCELLED, "session closed by the caller"));
    this.#stream?.cancel();
    this.#stream = undefined;
    this.#uploads = [];
    this.#uploading = false;
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // A lone call goes now; with others out, more calls of this turn (a map's, a loop's) join it.
    if (this.#pending.size > 1) setImmediate(this.#flush);
    else queueMicrotask(this.#flush);
  }

  #flushNow(): void {
    this.#flushQueued = false;
    const message = this.#outbox;
    if (message.calls.length === 0 && message.cancels.length === 0 && message.acks.length === 0) return;
    this.#outbox = { calls: [], cancels: [], acks: [] };
    this.#ensureStream().write(message);
    this.#upload();
  }

  /**
   * Sends the next piece of the oldest upload once the previous piece has been written, so that
   * few pieces are in memory at once; pieces of a call no longer pending are dropped.
   */
  #upload(): void {
    if (this.#uploading) return;
    const stream = this.#stream;
    const upload = this.#uploads[0];
    if (!stream || !upload) return;
    if (!this.#pending.has(upload.callId) || upload.pieces.length === 0) {
      this.#uploads.shift();
      return this.#upload();
    }
    this.#uploading = true;
    const data = upload.pieces.shift()!;
    const message = { calls: [], cancels: [], acks: [], args_chunks: [{ call_id: upload.callId, data }] };
    stream.write(message, () => {
      this.#uploading = false;
      if (this.#stream === stream) this.#upload();
    });
  }

  #watch(signal: AbortSignal, callId: number): void {
    let watched = this.#watched.get(signal);
    if (!watched) {
      const callIds = new Set<number>();
      const onAbort = () => {
        this.#watched.delete(signal);
        for (const id of [...callIds]) this.cancel(id);
      };
      watched = { callIds, onAbort };
      this.#watched.set(signal, watched);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    watched.callIds.add(callId);
  }

  #unwatch(signal: AbortSignal, callId: number): void {
    const watched = this.#watched.get(signal);
    if (!watched) return;
    watched.callIds.delete(callId);
    if (watched.callIds.size > 0) return;
    this.#watched.delete(signal);
    signal.removeEventListener("abort", watched.onAbort);
  }

  #ensureStream(): SessionStream {
    if (this.#stream) return this.#stream;
    const stream = this.#open();
    this.#stream = stream;
    stream.on("data", (response: SessionResponse) => this.#receive(response));
    // A stream is retired only with nothing outstanding, so calls pending when a stream ends or
    // fails belong to it only if it is still the current one.
    stream.on("error", (err: unknown) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#uploads = [];
      this.#uploading = false;
      this.#failAll(this.#describeError(err));
    });
    stream.on("end", () => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#uploads = [];
      this.#uploading = false;
      this.#failAll(new StupidModalError(Code.UNAVAILABLE, "the server ended the session"));
    });
    return stream;
  }

  #receive(response: SessionResponse): void {
    for (const line of response.logs) this.#pending.get(line.call_id)?.onLog(line);
    for (const item of response.items) this.#pending.get(item.call_id)?.onItem?.(item.value);
    for (const chunk of response.value_chunks ?? []) {
      const pending = this.#pending.get(chunk.call_id);
      if (pending) (pending.pieces ??= []).push(chunk.data);
    }
    for (const output of response.outputs) this.#deliver(output);
  }

  #deliver(output: OutputMessage): void {
    const pending = this.#pending.get(output.call_id);
    if (!pending) return;
    this.#settle(output.call_id);
    if (output.failure) pending.reject(failureToError(output.failure));
    else if (pending.pieces) pending.resolve(joinPieces([...pending.pieces, output.value ?? new Uint8Array()]));
    else pending.resolve(output.value ?? new Uint8Array());
  }

  /**
   * Forgets a call; once none is outstanding and no call was made for `idleCloseMs`, closes the
   * stream. One timer per pause rather than one per call: a caller awaiting calls one after the
   * other has none outstanding between them.
   */
  #settle(callId: number): void {
    const signal = this.#pending.get(callId)?.signal;
    if (signal) this.#unwatch(signal, callId);
    this.#pending.delete(callId);
    if (this.#pending.size > 0 || this.#closeQueued) return;
    this.#closeQueued = true;
    this.#closeAfterIdle(this.#nextId);
  }

  #closeAfterIdle(nextId: number): void {
    setTimeout(() => {
      if (this.#pending.size > 0 || !this.#stream || this.#outbox.calls.length > 0) {
        this.#closeQueued = false;
        return;
      }
      // Calls came and went meanwhile: the stream is in use.
      if (this.#nextId !== nextId) return this.#closeAfterIdle(this.#nextId);
      this.#closeQueued = false;
      const stream = this.#stream;
      this.#stream = undefined;
      stream.end();
    }, idleCloseMs);
  }

  #failAll(error: StupidModalError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const [signal, watched] of this.#watched) signal.removeEventListener("abort", watched.onAbort);
    this.#watched.clear();
    for (const call of pending) call.reject(error);
  }
}
