/**
 * Reads a Failed frame's report. It comes from a process running untrusted code, so every field
 * is checked before it reaches the wire or a log line; anything malformed is refused.
 */
import { decodeValue } from "../wire/codec.ts";
import { Code } from "../wire/errors.ts";
import type { Failure } from "../wire/proto.ts";

/** A checked report: the call's failure, and whether the executor must be replaced. */
export interface CheckedReport {
  failure: Failure;
  recycle: boolean;
}

/** Decodes and checks a report; throws on anything malformed. */
export function readFailureReport(payload: Uint8Array): CheckedReport {
  const report = decodeValue(payload, "failure report") as Record<string, unknown>;
  if (typeof report !== "object" || report === null) throw new Error("failure report is not a map");
  const { code, message, remote, recycle } = report;
  if (typeof code !== "number" || !Number.isInteger(code) || code < Code.CANCELLED || code > Code.UNAUTHENTICATED) {
    throw new Error(`failure report has an invalid code ${String(code)}`);
  }
  if (typeof message !== "string") throw new Error("failure report has no message");
  const failure: Failure = { code, message };
  if (remote !== undefined) {
    const { name, message: remoteMessage, stack, cause } = remote as Record<string, unknown>;
    if (
      typeof name !== "string" || typeof remoteMessage !== "string" || typeof stack !== "string" ||
      !(cause instanceof Uint8Array)
    ) {
      throw new Error("failure report has a malformed remote error");
    }
    failure.remote = { name, message: remoteMessage, stack, cause };
  }
  return { failure, recycle: recycle === true };
}
