/** One error hierarchy: every failure the SDK raises is a StupidModalError with a gRPC code. */

/** gRPC status codes, with their usual meanings. */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * An error with a gRPC status code: connection failures, auth failures, limits, timeouts.
 *
 * @example
 * ```ts
 * try {
 *   await inference.remote(1, 2);
 * } catch (err) {
 *   if (err instanceof StupidModalError && err.code === Code.DEADLINE_EXCEEDED) console.log("slow");
 * }
 * ```
 */
export class StupidModalError extends Error {
  /** The gRPC status code. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StupidModalError";
    this.code = code;
  }

  /**
   * Turns anything thrown into a StupidModalError: itself if it is one, a gRPC status error by its
   * code, anything else as UNKNOWN.
   *
   * @example
   * ```ts
   * const err = StupidModalError.from(new Error("boom")); // code UNKNOWN
   * ```
   */
  static from(reason: unknown): StupidModalError {
    if (reason instanceof StupidModalError) return reason;
    if (isStatusError(reason)) {
      return new StupidModalError(reason.code, reason.details || reason.message, { cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new StupidModalError(Code.UNKNOWN, message, { cause: reason });
  }
}

/**
 * An exception thrown by the user's function on the server: its name, message, the remote stack
 * (with the caller's own file names and lines) and its cause.
 *
 * @example
 * ```ts
 * try {
 *   await inference.remote(1, 2);
 * } catch (err) {
 *   if (err instanceof RemoteError) console.error(err.remoteName, err.remoteStack);
 * }
 * ```
 */
export class RemoteError extends StupidModalError {
  /** The `name` of the error thrown remotely, for example "TypeError". */
  readonly remoteName: string;
  /** The stack trace as printed on the server, with the caller's file names. */
  readonly remoteStack: string;

  constructor(
    remoteName: string,
    message: string,
    remoteStack: string,
    options?: { cause?: unknown },
  ) {
    super(Code.UNKNOWN, message, options);
    this.name = "RemoteError";
    this.remoteName = remoteName;
    this.remoteStack = remoteStack;
    this.stack = `RemoteError (${remoteName}): ${message}\n${stackFrames(remoteStack)}`;
  }
}

function stackFrames(stack: string): string {
  return stack.split("\n").filter((line) => line.trimStart().startsWith("at ")).join("\n");
}

interface StatusError {
  code: Code;
  details: string;
  message: string;
}

function isStatusError(value: unknown): value is StatusError {
  return value instanceof Error && typeof (value as Partial<StatusError>).code === "number" &&
    "details" in value;
}
