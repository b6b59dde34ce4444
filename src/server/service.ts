/** The StupidModal gRPC service: registration, unary Invoke, and the multiplexed Session stream. */
import * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";
import type {
  CallMessage,
  InvokeRequest,
  LogStream,
  OutputMessage,
  RegisterAppRequest,
  SessionRequest,
  SessionResponse,
} from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import type { AppStore, AppVersion } from "./app_store.ts";
import { registerApp, type RegistrationPolicy } from "./app_registration.ts";
import type { Authenticator } from "./auth.ts";
import type { Scheduler } from "./scheduler.ts";
import { SessionWriter } from "./session_writer.ts";

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
}

type Callback<T> = grpc.sendUnaryData<T>;

/** Builds the handlers of the StupidModal service. */
export function stupidModalHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, store, scheduler, policy } = context;
  const registering = new Map<string, Promise<AppVersion>>();

  const findApp = (version: string, appName: string): AppVersion => {
    const app = version ? store.get(version) : store.latest(appName);
    if (app) return app;
    if (!version && !appName) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, "a call names no app version and no app");
    }
    throw new StupidModalError(
      Code.NOT_FOUND,
      version ? `no app version ${version} is registered` : `no app named "${appName}" is registered`,
    );
  };

  return {
    CheckAppVersion(call: grpc.ServerUnaryCall<{ version: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata);
        return { present: store.has(call.request.version), max_payload_bytes: policy.maxPayloadBytes };
      }, context.log);
    },

    RegisterApp(call: grpc.ServerUnaryCall<RegisterAppRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, async () => {
        auth.check(call.metadata);
        const app = await registerApp(call.request, store, policy, registering);
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
        auth.check(call.metadata);
        const { version, app_name, function: name, args } = call.request;
        running = scheduler.submit(findApp(version, app_name), name, args, () => {});
        if (cancelled) running.cancel();
        const outcome = await running.outcome;
        if (outcome.failure && !outcome.failure.remote) {
          throw new StupidModalError(outcome.failure.code, outcome.failure.message);
        }
        return outcome.failure ? { failure: outcome.failure } : { value: outcome.value };
      }, context.log);
    },

    Session(stream: grpc.ServerDuplexStream<SessionRequest, SessionResponse>) {
      try {
        auth.check(stream.metadata);
      } catch (err) {
        // grpc-js ends a server stream with the status of an emitted error.
        stream.emit("error", asStatus(err, context.log));
        return;
      }
      const running = new Map<number, PoolCall>();
      let ended = false;
      const writer = new SessionWriter((message) => {
        if (!stream.writableEnded && !stream.destroyed) stream.write(message);
      });
      const finishIfDone = () => {
        if (ended && running.size === 0 && !stream.writableEnded) {
          writer.flush();
          stream.end();
        }
      };
      const settle = (callId: number, outcome: CallOutcome) => {
        if (!running.delete(callId)) return;
        writer.output(toOutput(callId, outcome));
        finishIfDone();
      };
      const start = (message: CallMessage) => {
        const callId = message.call_id;
        if (running.has(callId)) {
          writer.output(failure(callId, Code.ALREADY_EXISTS, `call id ${callId} is already running in this session`));
          return;
        }
        try {
          const app = findApp(message.version, message.app_name);
          const onLog = (line: { stream: LogStream; text: string }) =>
            writer.log({ call_id: callId, stream: line.stream, text: line.text });
          const poolCall = scheduler.submit(app, message.function, message.args, onLog);
          running.set(callId, poolCall);
          poolCall.outcome.then((outcome) => settle(callId, outcome));
        } catch (err) {
          const error = StupidModalError.from(err);
          writer.output(failure(callId, error.code, error.message));
        }
      };
      stream.on("data", (request: SessionRequest) => {
        for (const message of request.calls) start(message);
        for (const { call_id } of request.cancels) running.get(call_id)?.cancel();
      });
      stream.on("end", () => {
        ended = true;
        finishIfDone();
      });
      const endNow = () => {
        writer.flush();
        if (!stream.writableEnded) stream.end();
      };
      context.openSessions.add(endNow);
      stream.on("close", () => context.openSessions.delete(endNow));
      const cancelAll = () => {
        ended = true;
        context.openSessions.delete(endNow);
        for (const call of running.values()) call.cancel();
      };
      stream.on("cancelled", cancelAll);
      stream.on("error", cancelAll);
    },
  };
}

function toOutput(callId: number, outcome: CallOutcome): OutputMessage {
  return outcome.failure ? { call_id: callId, failure: outcome.failure } : { call_id: callId, value: outcome.value };
}

function failure(callId: number, code: Code, message: string): OutputMessage {
  return { call_id: callId, failure: { code, message } };
}

/** Runs a unary handler body, mapping thrown errors to gRPC statuses. */
function unary<T>(callback: Callback<T>, body: () => T | Promise<T>, log: (line: string) => void): void {
  Promise.resolve().then(body).then(
    (response) => callback(null, response),
    (err) => callback(asStatus(err, log)),
  );
}

function asStatus(err: unknown, log?: (line: string) => void): grpc.ServiceError {
  let error = StupidModalError.from(err);
  if (!(err instanceof StupidModalError)) {
    // Not an answer we meant to give: its text may name server paths, so it stays in the log.
    log?.(`internal error: ${err instanceof Error ? err.stack : String(err)}`);
    error = new StupidModalError(Code.INTERNAL, "internal error (details are in the server's log)");
  }
  const code = error.code;
  return Object.assign(new Error(error.message), {
    code: code as number as grpc.status,
    details: error.message,
    metadata: new grpc.Metadata(),
  });
}
