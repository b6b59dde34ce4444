/** Turns a call's wire Failure into the error the caller sees. */
import { decodeValue } from "../wire/codec.ts";
import { RemoteError, StupidModalError } from "../wire/errors.ts";
import type { Failure } from "../wire/proto.ts";

/** A RemoteError for a user exception, a StupidModalError with the code otherwise. */
export function failureToError(failure: Failure): StupidModalError {
  const remote = failure.remote;
  if (!remote) return new StupidModalError(failure.code, failure.message);
  const cause = remote.cause.byteLength > 0 ? decodeCause(remote.cause) : undefined;
  return new RemoteError(remote.name, remote.message, remote.stack, cause === undefined ? undefined : { cause });
}

function decodeCause(bytes: Uint8Array): unknown {
  const cause = decodeValue(bytes, "error cause");
  if (isErrorShape(cause)) {
    return new RemoteError(cause.name, cause.message, cause.stack);
  }
  return cause;
}

function isErrorShape(value: unknown): value is { name: string; message: string; stack: string } {
  return typeof value === "object" && value !== null && "stack" in value && "message" in value &&
    "name" in value;
}
