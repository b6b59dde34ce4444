/** CBOR for arguments and results (RFC 8949 via cbor-x): data only, never code. */
import { Encoder } from "cbor-x";
import { Code, StupidModalError } from "./errors.ts";

// structuredClone: Map, Set, Date, typed arrays, shared and cyclic references survive the trip.
const encoder = new Encoder({ useRecords: false, structuredClone: true });

/** Encodes one value to CBOR bytes. */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/**
 * Decodes CBOR bytes, turning malformed input into INVALID_ARGUMENT.
 * `what` names the bytes in the error ("arguments", "result").
 */
export function decodeValue(bytes: Uint8Array, what: string): unknown {
  try {
    return encoder.decode(bytes);
  } catch (err) {
    throw new StupidModalError(
      Code.INVALID_ARGUMENT,
      `${what} are not valid CBOR (${bytes.byteLength} bytes): ${(err as Error).message}`,
    );
  }
}

/** Decodes a call's arguments, which must be one CBOR array. */
export function decodeArgs(bytes: Uint8Array): unknown[] {
  const args = decodeValue(bytes, "arguments");
  if (!Array.isArray(args)) {
    throw new StupidModalError(
      Code.INVALID_ARGUMENT,
      `arguments must be one CBOR array of positional arguments, got ${typeof args}`,
    );
  }
  return args;
}
