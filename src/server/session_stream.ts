/**
 * One caller's Session stream: calls multiplexed by id, each submitted to the scheduler, outputs
 * and log lines batched back. Ending the stream waits for its calls; cancelling it cancels them.
 */
import type * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { CallMessage, LogStream, OutputMessage, SessionRequest, SessionResponse } from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import type { AppStore } from "./app_store.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Identity } from "./auth.ts";
import { checkCallTarget } from "./call_access.ts";
import { SessionWriter } from "./session_writer.ts";

/** Serves a session authenticated as `who`; `openSessions` gets a way to end it at shutdown. */
export function serveSession(
  stream: grpc.ServerDuplexStream<SessionRequest, SessionResponse>,
  scheduler: Scheduler,
  store: AppStore,
  openSessions: Set<() => void>,
  who: Identity,
): void {
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
      const app = store.find(message.version, message.app_name);
      checkCallTarget(who, app, store);
      const onLog = (line: { stream: LogStream; text: string }) =>
        writer.log({ call_id: callId, stream: line.stream, text: line.text });
      const onItem = (value: Uint8Array) => writer.item({ call_id: callId, value });
      const poolCall = scheduler.submit(app, message.function, message.args, {
        onLog,
        classCall: message,
        onItem,
        identity: who,
      });
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
    for (const { call_id, count } of request.acks) running.get(call_id)?.credit(count);
  });
  stream.on("end", () => {
    ended = true;
    finishIfDone();
  });
  const endNow = () => {
    writer.flush();
    if (!stream.writableEnded) stream.end();
  };
  openSessions.add(endNow);
  stream.on("close", () => openSessions.delete(endNow));
  const cancelAll = () => {
    ended = true;
    openSessions.delete(endNow);
    for (const call of running.values()) call.cancel();
  };
  stream.on("cancelled", cancelAll);
  stream.on("error", cancelAll);
}

function toOutput(callId: number, outcome: CallOutcome): OutputMessage {
  return outcome.failure ? { call_id: callId, failure: outcome.failure } : { call_id: callId, value: outcome.value };
}

function failure(callId: number, code: Code, message: string): OutputMessage {
  return { call_id: callId, failure: { code, message } };
}
