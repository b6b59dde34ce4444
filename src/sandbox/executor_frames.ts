/**
 * Binary frames between the server and an executor (over its Unix socket, one connection from the
 * worker and one from the main thread): a 4-byte big-endian length of the rest, a 1-byte kind, a
 * 4-byte call id, then the payload. Payloads of calls and results are the CBOR bytes as they came,
 * so nothing is decoded on the way through.
 */

/** What a frame carries. */
export enum FrameKind {
  /** Server → executor: run call `id`; payload: the CBOR arguments. */
  Call = 1,
  /** The function is loaded; empty payload. */
  Ready = 2,
  /** The app could not be loaded; payload: UTF-8 message. */
  LoadFailed = 3,
  /** Call `id` printed a line; payload: UTF-8 text. */
  Stdout = 4,
  Stderr = 5,
  /** Call `id` returned; payload: the CBOR value. */
  Done = 6,
  /** Call `id` failed; payload: CBOR of a FailureReport. */
  Failed = 7,
  /** Server → executor: call a method of the class instance; payload: methodPayload(). */
  CallMethod = 8,
  /** Call `id` (a generator) yielded a value; payload: the CBOR value. */
  Item = 9,
  /** Server → executor: call `id` may yield this many more items; payload: a 4-byte count. */
  Credit = 10,
  /** Server → executor: call `id` was cancelled; a generator stops at its next yield. */
  Cancel = 11,
  /**
   * Call `id` has printed this many lines so far; payload: a 4-byte count. Lines travel over the
   * executor main thread's connection, so the items and outcome after this wait for them.
   */
  LogMark = 12,
}

/** Bytes before the payload. */
export const frameHeaderBytes = 9;

/** What frames are read from: a connection, or anything with its `read`. */
export interface FrameSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Receives one whole frame. The payload is the receiver's own: nothing else shares its bytes. */
export type FrameHandler = (kind: FrameKind, id: number, payload: Uint8Array) => void;

/** Bytes asked for per read; a frame larger than this gets a buffer of its own, read into directly. */
const readChunkBytes = 64 * 1024;

/**
 * Reads `source` until it ends, handing every whole frame to `onFrame`. All frames that one read
 * completes are handed over in one go, synchronously, so that what they cause can be written out
 * together. Throws if the source ends inside a frame or a frame is longer than `maxFrameBytes`.
 */
export async function readFrames(
  source: FrameSource,
  onFrame: FrameHandler,
  maxFrameBytes = Number.MAX_SAFE_INTEGER,
): Promise<void> {
  const buffer = new Uint8Array(readChunkBytes);
  const view = new DataView(buffer.buffer);
  let start = 0;
  let end = 0;
  while (true) {
    // Room to read into: a partial frame moves to the front when it could not be completed in place.
    if (start === end) start = end = 0;
    else if (
      end - start < 4
        ? buffer.byteLength - start < frameHeaderBytes
        : start + 4 + view.getUint32(start) > buffer.byteLength
    ) {
      buffer.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const count = await source.read(buffer.subarray(end));
    if (count === null) {
      if (end > start) throw new Error(`the connection ended inside a frame (${end - start} bytes left)`);
      return;
    }
    end += count;
    while (end - start >= 4) {
      const size = 4 + view.getUint32(start);
      if (size < frameHeaderBytes || size > maxFrameBytes) throw new Error(`a frame of ${size} bytes`);
      if (end - start < size) {
        if (size <= buffer.byteLength) break;
        // Larger than the read buffer: read the rest straight into a buffer of its own.
        const frame = new Uint8Array(size);
        frame.set(buffer.subarray(start, end));
        let filled = end - start;
        start = end = 0;
        while (filled < size) {
          const more = await source.read(frame.subarray(filled));
          if (more === null) throw new Error(`the connection ended inside a frame (${filled} of ${size} bytes)`);
          filled += more;
        }
        const frameView = new DataView(frame.buffer, 0, frameHeaderBytes);
        onFrame(frameView.getUint8(4), frameView.getUint32(5), frame.subarray(frameHeaderBytes));
        break;
      }
      const kind = view.getUint8(start + 4);
      const id = view.getUint32(start + 5);
      const payload = buffer.slice(start + frameHeaderBytes, start + size);
      start += size;
      onFrame(kind, id, payload);
    }
  }
}

/** Writes the header of a frame whose payload has `payloadBytes` bytes into `target` at `offset`. */
export function writeFrameHeader(
  target: DataView,
  offset: number,
  kind: FrameKind,
  id: number,
  payloadBytes: number,
): void {
  target.setUint32(offset, payloadBytes + 5);
  target.setUint8(offset + 4, kind);
  target.setUint32(offset + 5, id);
}

/** A CallMethod payload: a 2-byte length and the method's UTF-8 name, then the CBOR arguments. */
export function methodPayload(method: string, args: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode(method);
  const payload = new Uint8Array(2 + name.byteLength + args.byteLength);
  new DataView(payload.buffer).setUint16(0, name.byteLength);
  payload.set(name, 2);
  payload.set(args, 2 + name.byteLength);
  return payload;
}

/** Splits a CallMethod payload into the method's name and the CBOR arguments. */
export function parseMethodPayload(payload: Uint8Array): { method: string; args: Uint8Array } {
  const length = new DataView(payload.buffer, payload.byteOffset, 2).getUint16(0);
  const method = new TextDecoder().decode(payload.subarray(2, 2 + length));
  return { method, args: payload.subarray(2 + length) };
}
