/**
 * gRPC's message framing on an HTTP/2 stream: each message is a 1-byte compressed flag, a 4-byte
 * big-endian length, then the message's bytes.
 */
import { Buffer } from "node:buffer";
import { Code, StupidModalError } from "./errors.ts";

/** Bytes before each message. */
const prefixBytes = 5;

/**
 * Cuts a stream's DATA bytes into messages, whatever the chunks' boundaries. A message that
 * fits in one chunk is a view of it.
 */
export class GrpcMessageReader {
  #maxBytes: number;
  /** An unfinished prefix or message from earlier chunks, copied into one buffer of its size. */
  #held: Buffer | undefined;
  #heldBytes = 0;

  /** Refuses (throws on) messages over `maxBytes`. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Takes one chunk; returns the messages it completes, in order. Throws a StupidModalError on a
   * compressed message (none is ever asked for: UNIMPLEMENTED) or one over the limit
   * (RESOURCE_EXHAUSTED).
   */
  push(chunk: Buffer): Buffer[] {
    let data = chunk;
    let at = 0;
    const messages: Buffer[] = [];
    if (this.#held) {
      // Copied, not listed: a message may come a byte per chunk.
      at = this.#fill(chunk, 0, prefixBytes);
      if (this.#heldBytes < prefixBytes) return messages;
      const size = prefixBytes + this.#check(this.#held, 0);
      if (this.#held.byteLength < size) {
        const grown = Buffer.allocUnsafe(size);
        grown.set(this.#held.subarray(0, this.#heldBytes));
        this.#held = grown;
      }
      at = this.#fill(chunk, at, size);
      if (this.#heldBytes < size) return messages;
      messages.push(this.#held.subarray(prefixBytes, size));
      this.#held = undefined;
      this.#heldBytes = 0;
      data = chunk;
    }
    while (data.byteLength - at >= prefixBytes) {
      const length = this.#check(data, at);
      if (data.byteLength - at - prefixBytes < length) break;
      messages.push(data.subarray(at + prefixBytes, at + prefixBytes + length));
      at += prefixBytes + length;
    }
    if (at < data.byteLength) {
      this.#held = Buffer.allocUnsafe(Math.max(prefixBytes, data.byteLength - at));
      this.#held.set(data.subarray(at));
      this.#heldBytes = data.byteLength - at;
    }
    return messages;
  }

  /** Bytes of an unfinished message still held (nonzero when the stream ends mid-message). */
  get pendingBytes(): number {
    return this.#heldBytes;
  }

  /** Copies bytes of `chunk` from `from` into the held buffer until it holds `upTo`; returns where it stopped. */
  #fill(chunk: Buffer, from: number, upTo: number): number {
    const count = Math.min(Math.max(upTo - this.#heldBytes, 0), chunk.byteLength - from);
    this.#held!.set(chunk.subarray(from, from + count), this.#heldBytes);
    this.#heldBytes += count;
    return from + count;
  }

  /** The length of the message whose prefix is at `at`; throws if it is compressed or too long. */
  #check(data: Buffer, at: number): number {
    if (data[at] !== 0) {
      throw new StupidModalError(
        Code.UNIMPLEMENTED,
        "a compressed message; this server takes uncompressed messages only",
      );
    }
    const length = data.readUInt32BE(at + 1);
    if (length > this.#maxBytes) {
      const message = `a message of ${length} bytes, over the server's limit of ${this.#maxBytes} bytes`;
      throw new StupidModalError(Code.RESOURCE_EXHAUSTED, message);
    }
    return length;
  }
}

/**
 * One message, framed.
 *
 * @example
 * ```ts
 * http2Stream.write(grpcMessage(encodedResponse));
 * ```
 */
export function grpcMessage(message: Uint8Array): Buffer {
  const framed = prefixed(message.byteLength, message.byteLength);
  framed.set(message, prefixBytes);
  return framed;
}

/** A buffer with room for `room` bytes behind the prefix of a message of `length` bytes. */
function prefixed(length: number, room: number): Buffer {
  const buffer = Buffer.allocUnsafe(prefixBytes + room);
  buffer[0] = 0;
  buffer.writeUInt32BE(length, 1);
  return buffer;
}

/** Messages up to this size are copied behind their prefix; larger ones are written from where they lie. */
const inlineMessageBytes = 64 * 1024;

/** Where framed messages are written: an HTTP/2 stream. */
export interface MessageSink {
  write(chunk: Uint8Array, done?: () => void): boolean;
}

/**
 * Writes one message, framed; `done` runs once it is handed to the connection. A large message
 * (a piece of a big value) goes out behind its prefix without being copied.
 *
 * @example
 * ```ts
 * writeGrpcMessage(http2Stream, encodedResponse);
 * ```
 */
export function writeGrpcMessage(sink: MessageSink, message: Uint8Array, done?: () => void): boolean {
  if (message.byteLength <= inlineMessageBytes) return sink.write(grpcMessage(message), done);
  sink.write(prefixed(message.byteLength, 0));
  return sink.write(message, done);
}
