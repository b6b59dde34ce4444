/**
 * Large arguments and results cross the session stream in pieces (ArgsChunk, ValueChunk): each
 * piece is copied into and out of a gRPC message of its own, in buffers the allocator reuses,
 * where one message of many MiB would be copied through fresh memory every time, and held whole
 * by grpc-js on both ends.
 */
import { partsLength } from "./cbor_parts.ts";

/** Bytes whole, or as pieces to be taken one after the other (never joined where they can be written in turn). */
export type Bytes = Uint8Array | Uint8Array[];

/**
 * The number of bytes, whole or in pieces.
 *
 * @example
 * ```ts
 * bytesLength([new Uint8Array(2), new Uint8Array(3)]); // 5
 * ```
 */
export function bytesLength(bytes: Bytes): number {
  return Array.isArray(bytes) ? partsLength(bytes) : bytes.byteLength;
}

/**
 * The bytes as one array (pieces joined; whole bytes as they are).
 *
 * @example
 * ```ts
 * const args = wholeBytes(call.args);
 * ```
 */
export function wholeBytes(bytes: Bytes): Uint8Array {
  return Array.isArray(bytes) ? joinPieces(bytes) : bytes;
}

/** The size of a piece, and the size above which a value is sent in pieces. */
export const chunkBytes = 1024 * 1024;

/**
 * `parts` (bytes written one after the other) cut into pieces of `size` bytes (the last shorter),
 * each a list of views of the parts.
 *
 * @example
 * ```ts
 * const [first, ...rest] = splitParts([header, bigArray]);
 * ```
 */
export function splitParts(parts: Uint8Array[], size = chunkBytes): Uint8Array[][] {
  const pieces: Uint8Array[][] = [];
  let piece: Uint8Array[] = [];
  let room = size;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength;) {
      const taken = Math.min(room, part.byteLength - at);
      piece.push(part.subarray(at, at + taken));
      at += taken;
      room -= taken;
      if (room === 0) {
        pieces.push(piece);
        piece = [];
        room = size;
      }
    }
  }
  if (piece.length > 0 || pieces.length === 0) pieces.push(piece);
  return pieces;
}

/**
 * One array of the pieces' bytes, in order (the only piece itself, when there is one).
 *
 * @example
 * ```ts
 * const value = joinPieces([...received, output.value]);
 * ```
 */
export function joinPieces(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const joined = new Uint8Array(partsLength(pieces));
  let at = 0;
  for (const piece of pieces) {
    joined.set(piece, at);
    at += piece.byteLength;
  }
  return joined;
}
