/**
 * Binary frames between the server and an executor (over its Unix socket): a 4-byte big-endian
 * length of the rest, a 1-byte kind, a 4-byte call id, then the payload. Payloads of calls and
 * results are the CBOR bytes as they came, so nothing is decoded or copied on the way through.
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
}

/** Bytes before the payload. */
export const frameHeaderBytes = 9;

/** One parsed frame; `payload` may share its buffer with other frames. */
export interface Frame {
  kind: FrameKind;
  id: number;
  payload: Uint8Array;
}

/** The header of a frame whose payload has `payloadBytes` bytes; write the payload after it. */
export function frameHeader(kind: FrameKind, id: number, payloadBytes: number): Uint8Array {
  const header = new Uint8Array(frameHeaderBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, payloadBytes + 5);
  view.setUint8(4, kind);
  view.setUint32(5, id);
  return header;
}

/** Payloads up to this size are copied behind their header, so a frame is one write and one read. */
const inlinePayloadBytes = 64 * 1024;

/**
 * A frame as the parts to write back to back: one buffer for a small payload, the header and the
 * payload itself (never copied) for a large one.
 */
export function frameParts(kind: FrameKind, id: number, payload: Uint8Array): Uint8Array[] {
  const header = frameHeader(kind, id, payload.byteLength);
  if (payload.byteLength > inlinePayloadBytes) return [header, payload];
  const frame = new Uint8Array(frameHeaderBytes + payload.byteLength);
  frame.set(header);
  frame.set(payload, frameHeaderBytes);
  return [frame];
}

/** Reads the kind, id and payload of one whole frame. */
export function parseFrame(frame: Uint8Array): Frame {
  const view = new DataView(frame.buffer, frame.byteOffset, frameHeaderBytes);
  return { kind: view.getUint8(4), id: view.getUint32(5), payload: frame.subarray(frameHeaderBytes) };
}

/**
 * Yields each whole frame of a byte stream. A frame that spans chunks gets a buffer of its own;
 * one inside a chunk is a view of that chunk.
 */
export async function* readFrames(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    buffered += chunk.byteLength;
    while (buffered >= frameHeaderBytes) {
      const head = chunks[0].byteLength >= 4 ? chunks[0] : gather(chunks, 4, false);
      const size = 4 + new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (buffered < size) break;
      buffered -= size;
      yield take(chunks, size);
    }
  }
}

/** Removes and returns the first `n` bytes of the queued chunks. */
function take(chunks: Uint8Array[], n: number): Uint8Array {
  const first = chunks[0];
  if (first.byteLength === n) return chunks.shift()!;
  if (first.byteLength > n) {
    chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  return gather(chunks, n, true);
}

/** Copies the first `n` bytes of the queued chunks into one buffer, consuming them if asked. */
function gather(chunks: Uint8Array[], n: number, consume: boolean): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  let index = 0;
  while (filled < n) {
    const chunk = chunks[index];
    const part = Math.min(chunk.byteLength, n - filled);
    out.set(chunk.subarray(0, part), filled);
    filled += part;
    if (!consume) index++;
    else if (part === chunk.byteLength) chunks.shift();
    else chunks[0] = chunk.subarray(part);
  }
  return out;
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

/** Whether a view covers its whole buffer, so the buffer can be transferred without harm. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}
