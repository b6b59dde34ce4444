/** Reads an HTTP request's body, refusing one over a size limit before or while it arrives. */
import { Code } from "../wire/errors.ts";
import { HttpError } from "./http_status.ts";
import { joinPieces } from "../wire/value_chunks.ts";

/**
 * The whole body of `request`, at most `limit` bytes: 413 if its Content-Length says more (nothing
 * is read then) or once more has arrived; 503 if `stop` aborts first (the server is closing).
 *
 * @example
 * ```ts
 * const bytes = await readBoundedBody(request, 1024 * 1024);
 * ```
 */
export async function readBoundedBody(request: Request, limit: number, stop?: AbortSignal): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(`${declared} bytes`, limit);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const onStop = () => reader.cancel().catch(() => {});
  stop?.addEventListener("abort", onStop);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read().catch((err) => {
        throw new HttpError(400, Code.INVALID_ARGUMENT, `the request body could not be read: ${err?.message ?? err}`);
      });
      if (stop?.aborted) throw new HttpError(503, Code.UNAVAILABLE, "the server is shutting down");
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(`more than ${limit} bytes`, limit);
      }
      chunks.push(value);
    }
  } finally {
    stop?.removeEventListener("abort", onStop);
  }
  return joinPieces(chunks);
}

function tooLarge(size: string, limit: number): HttpError {
  return new HttpError(
    413,
    Code.RESOURCE_EXHAUSTED,
    `the request body is ${size}, over the server's limit of ${limit} bytes (--max-payload-mb)`,
  );
}
