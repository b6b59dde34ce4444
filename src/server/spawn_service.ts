/** The Spawn, SpawnMap, GetCall and CancelCall handlers: calls that outlive their callers. */
import type * as grpc from "@grpc/grpc-js";
import type { GetCallRequest, SpawnMapRequest, SpawnRequest } from "../wire/proto.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { requireFunction } from "./app_store.ts";
import type { Identity } from "./auth.ts";
import { checkCallTarget } from "./call_access.ts";
import { asStatus, type Callback, unary } from "./grpc_status.ts";
import type { ServiceContext } from "./service.ts";
import type { SpawnedCall } from "./spawned_calls.ts";

/** Builds the spawn handlers. */
export function spawnHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, store, spawned, log, quotas, audit } = context;

  /** A spawned call the caller may see: its own, or any for an admin; NOT_FOUND otherwise, as for an unknown id. */
  const visibleCall = (who: Identity, id: string) => {
    const call = spawned.get(id);
    if (who.scopes.includes("admin") || call.row.caller === who.name) return call;
    throw new StupidModalError(Code.NOT_FOUND, `no spawned call ${id} of the token "${who.name}"`);
  };

  return {
    Spawn(request: grpc.ServerUnaryCall<SpawnRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, async () => {
        const who = auth.check(request.metadata, "invoke");
        const { version, app_name, function: name, args } = request.request;
        const app = store.find(version, app_name);
        checkCallTarget(who, app, store);
        requireFunction(app, name);
        const release = quotas.enterInputs(who, 1);
        const call = spawned.create({ appName: app.name, version: app.version, function: name }, "spawn", who.name);
        call.add(args, release);
        audit.invoked(who.name, "spawn", app.name, name);
        call.closeInputs();
        // The id goes out once the call is on disk: a handle always outlives a crash.
        await storedOrCancelled(call);
        return { call_id: call.id };
      }, log);
    },

    SpawnMap(stream: grpc.ServerReadableStream<SpawnMapRequest, unknown>, callback: Callback<unknown>) {
      let who: Identity;
      try {
        who = auth.check(stream.metadata, "invoke");
      } catch (err) {
        callback(asStatus(err, log));
        return;
      }
      let target: ReturnType<typeof findTarget> | undefined;
      let call: SpawnedCall | undefined;
      let failed = false;
      stream.on("data", (message: SpawnMapRequest) => {
        if (failed) return;
        try {
          target ??= findTarget(message, who);
          call ??= spawned.create(target, "map", who.name);
          const release = quotas.enterInputs(who, message.args.length);
          for (const args of message.args) call.add(args, release);
          audit.invoked(who.name, "spawn", target.appName, target.function, message.args.length);
        } catch (err) {
          failed = true;
          call?.cancel();
          call?.closeInputs();
          callback(asStatus(err, log));
        }
      });
      stream.on("end", () => {
        if (failed) return;
        if (!target) {
          callback(
            asStatus(new StupidModalError(Code.INVALID_ARGUMENT, "SpawnMap got no message naming a function"), log),
          );
          return;
        }
        call ??= spawned.create(target, "map", who.name);
        call.closeInputs();
        const id = call.id;
        storedOrCancelled(call).then(() => callback(null, { call_id: id }), (err) => callback(asStatus(err, log)));
      });
      stream.on("error", () => {
        // The upload broke off: what arrived is cancelled, and the batch ends so it can be swept.
        call?.cancel();
        call?.closeInputs();
      });
    },

    GetCall(request: grpc.ServerUnaryCall<GetCallRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, async () => {
        const who = auth.check(request.metadata, "invoke");
        const call = visibleCall(who, request.request.call_id);
        await call.wait(Math.min(request.request.timeout_ms, 60_000));
        const done = call.done;
        // An outcome is given out once it is on disk, so it never changes after a crash.
        if (done) await spawned.stored();
        return { done, outputs: done ? call.outputs : [], inputs: call.outputs.length, finished: call.finished };
      }, log);
    },

    CancelCall(request: grpc.ServerUnaryCall<{ call_id: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(request.metadata, "invoke");
        visibleCall(who, request.request.call_id).cancel();
        return {};
      }, log);
    },
  };

  /** Waits until a new call is on disk; one that cannot be written is cancelled, and the caller told why. */
  function storedOrCancelled(call: SpawnedCall): Promise<void> {
    return spawned.stored().catch((err) => {
      call.cancel();
      const error = StupidModalError.from(err);
      throw new StupidModalError(error.code, `the call could not be stored, so it was cancelled: ${error.message}`);
    });
  }

  function findTarget(message: SpawnMapRequest, who: Identity) {
    const app = store.find(message.version, message.app_name);
    checkCallTarget(who, app, store);
    requireFunction(app, message.function);
    return { appName: app.name, version: app.version, function: message.function };
  }
}
