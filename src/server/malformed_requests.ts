/**
 * Requests whose bytes are not a message of their RPC's type fail with INVALID_ARGUMENT naming the
 * RPC, instead of grpc-js's INTERNAL "Error deserializing request" (which reads as a server bug).
 */
import * as grpc from "@grpc/grpc-js";
import { Code } from "../wire/errors.ts";

/** What the deserializer hands on in place of a message it could not read. */
class Unreadable {
  constructor(readonly reason: string) {}
}

/**
 * The service with deserializers that never throw, and its handlers, each of which answers an
 * unreadable request (or stream message) with INVALID_ARGUMENT before the handler sees it.
 *
 * @example
 * ```ts
 * server.addService(...guardMalformed(StupidModalService, handlers));
 * ```
 */
export function guardMalformed(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const guardedDefinition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const guardedHandlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    guardedDefinition[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return new Unreadable((err as Error).message);
        }
      },
    };
    const handler = handlers[name];
    if (handler) guardedHandlers[name] = guard(name, method, handler as GenericHandler);
  }
  return [guardedDefinition as grpc.ServiceDefinition, guardedHandlers];
}

// deno-lint-ignore no-explicit-any
type GenericHandler = (call: any, callback?: grpc.sendUnaryData<unknown>) => void;

function guard(name: string, method: grpc.MethodDefinition<unknown, unknown>, handler: GenericHandler): GenericHandler {
  const refusal = (unreadable: Unreadable): grpc.ServiceError =>
    Object.assign(new Error(`the ${name} request is not a valid message: ${unreadable.reason}`), {
      code: Code.INVALID_ARGUMENT as number as grpc.status,
      details: `the ${name} request is not a valid message: ${unreadable.reason}`,
      metadata: new grpc.Metadata(),
    });
  if (!method.requestStream) {
    // One request, read before the handler runs: refuse it instead.
    return (call, callback) => {
      if (!(call.request instanceof Unreadable)) return handler(call, callback);
      if (callback) callback(refusal(call.request));
      else call.emit("error", refusal(call.request));
    };
  }
  // A stream of requests: the first unreadable one ends the call (the handler hears an error, as
  // when the caller breaks off) and nothing after it is delivered.
  return (call, callback) => {
    const emit = call.emit.bind(call);
    let refused = false;
    call.emit = (event: string, ...args: unknown[]) => {
      if (event === "data" && args[0] instanceof Unreadable && !refused) {
        refused = true;
        return emit("error", refusal(args[0]));
      }
      if (refused && (event === "data" || event === "end")) return false;
      return emit(event, ...args);
    };
    handler(call, callback);
  };
}
