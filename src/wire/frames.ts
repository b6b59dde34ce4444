/** Length-prefixed CBOR frames between the server and its executor processes (over pipes). */
import { decodeValue, encodeValue } from "./codec.ts";

/** Encodes one message as a frame: a 4-byte big-endian length, then the CBOR bytes. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encodeValue(message);
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

/** Yields the messages of a byte stream of frames; ends when the stream ends. */
export async function* readFrames(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    buffered += chunk.byteLength;
    while (buffered >= 4) {
      const head = peek(chunks, 4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (buffered < 4 + length) break;
      const frame = take(chunks, 4 + length);
      buffered -= 4 + length;
      yield decodeValue(frame.subarray(4), "frame");
    }
  }
}

/** The first `n` bytes of the queued chunks, without consuming them. */
function peek(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks[0].byteLength >= n) return chunks[0];
  return concat(chunks, n, false);
}

/** Removes and returns the first `n` bytes of the queued chunks. */
function take(chunks: Uint8Array[], n: number): Uint8Array {
  const first = chunks[0];
  if (first.byteLength === n) return chunks.shift()!;
  if (first.byteLength > n) {
    chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  return concat(chunks, n, true);
}

function concat(chunks: Uint8Array[], n: number, consume: boolean): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  let index = 0;
  while (filled < n) {
    const chunk = chunks[index];
    const part = Math.min(chunk.byteLength, n - filled);
    out.set(chunk.subarray(0, part), filled);
    filled += part;
    if (!consume) {
      index++;
    } else if (part === chunk.byteLength) {
      chunks.shift();
    } else {
      chunks[0] = chunk.subarray(part);
    }
  }
  return out;
}
