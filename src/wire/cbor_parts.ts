/**
 * CBOR of values holding large byte arrays, without copying the arrays: header bytes and the
 * arrays themselves, to be written one after the other. The bytes are exactly what the codec
 * makes of the same value.
 */
import { encodeValue } from "./codec.ts";

/** Byte arrays at least this large are written from where they lie. */
export const largeBytes = 64 * 1024;

/**
 * The CBOR of `value` as parts: for a plain `Uint8Array` of `largeBytes` or more, its header and
 * the array itself; for anything else, the codec's one buffer.
 *
 * @example
 * ```ts
 * const parts = encodeParts(new Uint8Array(1 << 20)); // [header, the array]
 * ```
 */
export function encodeParts(value: unknown): Uint8Array[] {
  return isLarge(value) ? [byteArrayHeader(value.byteLength), value] : [encodeValue(value)];
}

/**
 * The CBOR of an argument list as parts. When some arguments are large plain `Uint8Array`s and
 * the others are primitives, each large array is a part of its own; otherwise one buffer. (Only
 * primitives beside distinct arrays: the codec encodes an object seen twice as a reference, which
 * encoding the arguments one by one would not.)
 *
 * @example
 * ```ts
 * const parts = encodeArgsParts(["photo.png", bytes]);
 * ```
 */
export function encodeArgsParts(args: unknown[]): Uint8Array[] {
  // The usual case, small arguments only, costs one pass and no allocation.
  let anyLarge = false;
  for (const arg of args) if (isLarge(arg)) anyLarge = true;
  if (!anyLarge) return [encodeValue(args)];
  const large = args.filter(isLarge);
  // An array given twice is encoded as a reference the second time: not by parts then.
  if (
    large.length === 0 || new Set(large).size < large.length ||
    !args.every((arg) => isLarge(arg) || isPrimitive(arg))
  ) return [encodeValue(args)];
  const parts = [arrayHeader(args.length)];
  for (const arg of args) parts.push(...encodeParts(arg));
  return parts;
}

/** The total length of parts. */
export function partsLength(parts: Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}

function isLarge(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype &&
    value.byteLength >= largeBytes;
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol");
}

/** A definite-length array of `length` items (major type 4). */
function arrayHeader(length: number): Uint8Array {
  if (length < 24) return new Uint8Array([0x80 | length]);
  if (length < 0x100) return new Uint8Array([0x98, length]);
  if (length < 0x10000) return new Uint8Array([0x99, length >> 8, length & 0xff]);
  const header = new Uint8Array(5);
  header[0] = 0x9a;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/** A Uint8Array as the codec writes it: tag 64 (RFC 8746, uint8 typed array), then a byte string. */
function byteArrayHeader(length: number): Uint8Array {
  if (length <= 0xffffffff) {
    const header = new Uint8Array(7);
    header.set([0xd8, 0x40, 0x5a]);
    new DataView(header.buffer).setUint32(3, length);
    return header;
  }
  const header = new Uint8Array(11);
  header.set([0xd8, 0x40, 0x5b]);
  new DataView(header.buffer).setBigUint64(3, BigInt(length));
  return header;
}
