/** How a failure looks over HTTP: the status of each gRPC code, and the JSON error body. */
import { Code, StupidModalError } from "../wire/errors.ts";

/**
 * The HTTP status for a gRPC status code, following the usual gateway mapping, except that
 * FAILED_PRECONDITION (the app cannot load, a secret is missing) is 409 Conflict and CANCELLED
 * (the client hung up) is 499, nginx's "client closed request".
 */
const statusOf: Record<Code, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 409,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

/**
 * The HTTP status of a gRPC status code.
 *
 * @example
 * ```ts
 * httpStatus(Code.DEADLINE_EXCEEDED); // 504
 * ```
 */
export function httpStatus(code: Code): number {
  return statusOf[code] ?? 500;
}

/**
 * A failure with its own HTTP status and headers, for what only HTTP can get wrong (a method, a
 * content type, a body too large) and where the status must say more than the code.
 *
 * @example
 * ```ts
 * throw new HttpError(405, Code.UNIMPLEMENTED, "use GET", { Allow: "GET" });
 * ```
 */
export class HttpError extends StupidModalError {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Headers to add to the answer (`Allow`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(status: number, code: Code, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** A user exception as the error body shows it. */
export interface RemoteErrorBody {
  name: string;
  message: string;
  stack: string;
  /** The exception's `cause`, as JSON, when it had one. */
  cause?: unknown;
}

/**
 * A JSON error answer: `{"error": {"code": "NOT_FOUND", "message": "…"}}`, with `remote` for a
 * user exception. The status is the error's own for an HttpError, else its code's.
 *
 * @example
 * ```ts
 * const response = errorResponse(new StupidModalError(Code.NOT_FOUND, "no such function"));
 * response.status; // 404
 * ```
 */
export function errorResponse(error: StupidModalError, remote?: RemoteErrorBody): Response {
  const status = error instanceof HttpError ? error.status : httpStatus(error.code);
  const headers = error instanceof HttpError ? error.headers : {};
  const body = {
    error: { code: Code[error.code] ?? "UNKNOWN", message: error.message, ...(remote ? { remote } : {}) },
  };
  return jsonResponse(status, body, headers);
}

/**
 * An `application/json` answer of a JSON-ready value, ended by a newline (for terminals).
 *
 * @example
 * ```ts
 * const response = jsonResponse(200, { sum: 3 });
 * ```
 */
export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value) + "\n", {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}
