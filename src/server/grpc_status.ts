/** Turns anything thrown in a handler into the gRPC status the caller gets; runs unary handler bodies. */
import * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";

/**
 * A StupidModalError keeps its code and message; anything else is a bug whose text may name
 * server paths, so it goes to the log and the caller gets a plain INTERNAL.
 */
export function asStatus(err: unknown, log: (line: string) => void): grpc.ServiceError {
  let error = StupidModalError.from(err);
  if (!(err instanceof StupidModalError)) {
    log(`internal error: ${err instanceof Error ? err.stack : String(err)}`);
    error = new StupidModalError(Code.INTERNAL, "internal error (details are in the server's log)");
  }
  const code = error.code;
  return Object.assign(new Error(error.message), {
    code: code as number as grpc.status,
    details: error.message,
    metadata: new grpc.Metadata(),
  });
}

/** A unary handler's callback. */
export type Callback<T> = grpc.sendUnaryData<T>;

/** Runs a unary handler body, mapping thrown errors to gRPC statuses. */
export function unary<T>(callback: Callback<T>, body: () => T | Promise<T>, log: (line: string) => void): void {
  Promise.resolve().then(body).then(
    (response) => callback(null, response),
    (err) => callback(asStatus(err, log)),
  );
}
