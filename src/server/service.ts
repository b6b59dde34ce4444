/** The StupidModal gRPC service: authentication, registration, unary Invoke; sessions in session_stream.ts. */
import type * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { InvokeRequest, RegisterAppRequest, SessionRequest, SessionResponse } from "../wire/proto.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import { type AppStore, type AppVersion, requireFunction } from "./app_store.ts";
import { registerApp, type RegistrationPolicy } from "./app_registration.ts";
import type { Authenticator } from "./auth.ts";
import type { Scheduler } from "./scheduler.ts";
import { asStatus, type Callback, unary } from "./grpc_status.ts";
import { serveSession } from "./session_stream.ts";
import { spawnHandlers } from "./spawn_service.ts";
import type { SpawnedCalls } from "./spawned_calls.ts";
import type { Secrets } from "./secrets.ts";
import type { AppLogs } from "./app_logs.ts";
import type { CallMonitor } from "./call_monitor.ts";
import type { AuditLog } from "./audit_log.ts";
import type { TokenQuotas } from "./token_quotas.ts";
import { checkCallTarget } from "./call_access.ts";
import { accessHandlers } from "./access_service.ts";
import { operatorHandlers } from "./operator_service.ts";
import { acceptGrpc, DirectSession, type DirectSessionCodec, refuseStream, requestMetadata } from "./direct_session.ts";
import type { StreamHandler } from "./session_route.ts";

/** What the service needs from the server. */
export interface ServiceContext {
  auth: Authenticator;
  store: AppStore;
  scheduler: Scheduler;
  policy: RegistrationPolicy;
  /** Server-side failures that are not the caller's (bugs) are logged here. */
  log: (line: string) => void;
  /** Open sessions, each by a function that flushes and ends it (used at shutdown). */
  openSessions: Set<() => void>;
  spawned: SpawnedCalls;
  secrets: Secrets;
  appLogs: AppLogs;
  /** Every call queued, running and recently finished. */
  monitor: CallMonitor;
  /** Who deployed, changed and invoked what. */
  audit: AuditLog;
  /** Per-token limits. */
  quotas: TokenQuotas;
  /** The web port, 0 when the server serves none. */
  webPort: () => number;
}

/** Builds the handlers of the StupidModal service. */
export function stupidModalHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, store, scheduler, policy } = context;
  const registering = new Map<string, Promise<AppVersion>>();

  return {
    ...spawnHandlers(context),
    ...operatorHandlers(context),
    ...accessHandlers(context),
    CheckAppVersion(call: grpc.ServerUnaryCall<{ version: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "admin");
        return { present: store.has(call.request.version), max_payload_bytes: policy.maxPayloadBytes };
      }, context.log);
    },

    RegisterApp(call: grpc.ServerUnaryCall<RegisterAppRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, async () => {
        const who = auth.check(call.metadata, "admin");
        const known = store.has(call.request.version);
        const app = await registerApp(call.request, store, policy, registering);
        if (!known) context.audit.record(who.name, "register", app.name, "", app.version);
        // A deployed app's name keeps its deployed version warm, whatever else registers.
        if (!store.deployment(app.name)) scheduler.prewarm(app);
        return { version: app.version, max_payload_bytes: policy.maxPayloadBytes };
      }, context.log);
    },

    Invoke(call: grpc.ServerUnaryCall<InvokeRequest, unknown>, callback: Callback<unknown>) {
      let running: PoolCall | undefined;
      let cancelled = false;
      call.on("cancelled", () => {
        cancelled = true;
        running?.cancel();
      });
      unary(callback, async () => {
        const who = auth.check(call.metadata, "invoke");
        const { version, app_name, function: name, args } = call.request;
        const app = store.find(version, app_name);
        checkCallTarget(who, app, store);
        if (requireFunction(app, name).is_generator) {
          throw new StupidModalError(Code.INVALID_ARGUMENT, `${name} is a generator: call it on the Session stream`);
        }
        running = scheduler.submit(app, name, args, { classCall: call.request, trigger: "invoke", identity: who });
        if (cancelled) running.cancel();
        const outcome = await running.outcome;
        if (outcome.failure && !outcome.failure.remote) {
          throw new StupidModalError(outcome.failure.code, outcome.failure.message);
        }
        return outcome.failure ? { failure: outcome.failure } : { value: outcome.value };
      }, context.log);
    },

    Session(stream: grpc.ServerDuplexStream<SessionRequest, SessionResponse>) {
      let who;
      try {
        who = auth.check(stream.metadata, "invoke");
      } catch (err) {
        // grpc-js ends a server stream with the status of an emitted error.
        stream.emit("error", asStatus(err, context.log));
        return;
      }
      serveSession(stream, scheduler, store, context.openSessions, who, context.policy.maxPayloadBytes);
    },
  };
}

/**
 * The Session RPC served on its HTTP/2 stream directly (direct_session.ts), where session_route.ts
 * could route it there; the grpc-js handler above serves it otherwise.
 */
export function directSessionHandler(context: ServiceContext, codec: DirectSessionCodec): StreamHandler {
  return (stream, headers) => {
    // Errors of the stream come with its "close", which the session hears; this keeps them handled.
    stream.on("error", () => {});
    if (!acceptGrpc(stream, headers)) return;
    let who;
    try {
      who = context.auth.check(requestMetadata(headers), "invoke");
    } catch (err) {
      const status = asStatus(err, context.log);
      return refuseStream(stream, new StupidModalError(status.code as number as Code, status.details));
    }
    const session = new DirectSession(stream, headers, codec);
    const { scheduler, store, openSessions, policy } = context;
    serveSession(session, scheduler, store, openSessions, who, policy.maxPayloadBytes);
  };
}
