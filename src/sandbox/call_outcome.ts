/** What one input came to: a CBOR value or a failure, as the wire carries it. */
import type { Failure } from "../wire/proto.ts";
import type { Code } from "../wire/errors.ts";

/** The outcome of one input. */
export type CallOutcome = { value: Uint8Array; failure?: undefined } | { failure: Failure; value?: undefined };

/** A platform failure outcome. */
export function failed(code: Code, message: string): CallOutcome {
  return { failure: { code, message } };
}
