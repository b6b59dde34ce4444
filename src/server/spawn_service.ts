/** The Spawn, SpawnMap, GetCall and CancelCall handlers: calls that outlive their callers. */
import type * as grpc from "@grpc/grpc-js";
import type { GetCallRequest, SpawnMapRequest, SpawnRequest } from "../wire/proto.ts";
import { type AppVersion, requireFunction } from "./app_store.ts";
import { asStatus, type Callback, unary } from "./grpc_status.ts";
import type { ServiceContext } from "./service.ts";
import type { SpawnedCall } from "./spawned_calls.ts";

/** Builds the spawn handlers. */
export function spawnHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, store, scheduler, spawned, log } = context;

  /** Adds one input to a spawned call; an input refused up front fails alone. */
  const addInput = (call: SpawnedCall, app: AppVersion, functionName: string, args: Uint8Array) => {
    const onLog = (line: { text: string }) => log(`log ${app.name}.${functionName} ${call.id}: ${line.text}`);
    call.add(() => scheduler.submit(app, functionName, args, onLog));
  };

  return {
    Spawn(request: grpc.ServerUnaryCall<SpawnRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(request.metadata);
        const { version, app_name, function: name, args } = request.request;
        const app = store.find(version, app_name);
        requireFunction(app, name);
        const call = spawned.create(false);
        addInput(call, app, name, args);
        call.closeInputs();
        return { call_id: call.id };
      }, log);
    },

    SpawnMap(stream: grpc.ServerReadableStream<SpawnMapRequest, unknown>, callback: Callback<unknown>) {
      try {
        auth.check(stream.metadata);
      } catch (err) {
        callback(asStatus(err, log));
        return;
      }
      let target: { app: AppVersion; name: string } | undefined;
      let call: SpawnedCall | undefined;
      let failed = false;
      stream.on("data", (message: SpawnMapRequest) => {
        if (failed) return;
        try {
          target ??= findTarget(message);
          call ??= spawned.create(true);
          for (const args of message.args) addInput(call, target.app, target.name, args);
        } catch (err) {
          failed = true;
          call?.cancel();
          call?.closeInputs();
          callback(asStatus(err, log));
        }
      });
      stream.on("end", () => {
        if (failed) return;
        call ??= spawned.create(true);
        call.closeInputs();
        callback(null, { call_id: call.id });
      });
      stream.on("error", () => {
        // The upload broke off: what arrived is cancelled, and the batch ends so it can be swept.
        call?.cancel();
        call?.closeInputs();
      });
    },

    GetCall(request: grpc.ServerUnaryCall<GetCallRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, async () => {
        auth.check(request.metadata);
        const call = spawned.get(request.request.call_id);
        await call.wait(Math.min(request.request.timeout_ms, 60_000));
        const done = call.done;
        return { done, outputs: done ? call.outputs : [], inputs: call.outputs.length, finished: call.finished };
      }, log);
    },

    CancelCall(request: grpc.ServerUnaryCall<{ call_id: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(request.metadata);
        spawned.get(request.request.call_id).cancel();
        return {};
      }, log);
    },
  };

  function findTarget(message: SpawnMapRequest): { app: AppVersion; name: string } {
    const app = store.find(message.version, message.app_name);
    requireFunction(app, message.function);
    return { app, name: message.function };
  }
}
