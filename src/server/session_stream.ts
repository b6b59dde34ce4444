/**
 * One caller's Session stream: calls multiplexed by id, each submitted to the scheduler once its
 * arguments are all there (large ones come in pieces), outputs and log lines batched back, large
 * results in pieces to callers that take them. Ending the stream waits for its calls; cancelling
 * it cancels them.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { CallMessage, LogStream, OutputMessage, SessionRequest, SessionResponse } from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import type { AppStore, AppVersion } from "./app_store.ts";
import type { MapSummary } from "./map_summary.ts";
import { ArgsAssembly, type PieceResult } from "./args_assembly.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Identity } from "./auth.ts";
import { checkCallTarget } from "./call_access.ts";
import { SessionWriter } from "./session_writer.ts";
import { type Bytes, chunkBytes, splitParts } from "../wire/value_chunks.ts";

/**
 * A Session stream as this file uses it: grpc-js's server duplex stream, or a DirectSession
 * (direct_session.ts).
 */
export interface SessionChannel {
  write(message: SessionResponse, done?: () => void): boolean;
  end(): void;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  on(event: "data", listener: (request: SessionRequest) => void): unknown;
  on(event: "end" | "close" | "cancelled" | "error", listener: () => void): unknown;
}

/**
 * Serves a session authenticated as `who`; `openSessions` gets a way to end it at shutdown. A call's
 * arguments may be at most `maxPayloadBytes`, and at most twice that may be arriving at once.
 */
export function serveSession(
  stream: SessionChannel,
  scheduler: Scheduler,
  store: AppStore,
  openSessions: Set<() => void>,
  who: Identity,
  maxPayloadBytes: number,
): void {
  const running = new Map<number, PoolCall>();
  /** Summaries of the maps with inputs in flight, by map id, version and function. */
  const summaries = new Map<string, MapSummary>();
  // Kept once an input of it is submitted; forgotten when none is in flight.
  const summaryOf = (message: CallMessage, app: AppVersion): MapSummary | undefined => {
    if (!message.map_id) return undefined;
    const key = `${message.map_id}/${app.version}/${message.function}`;
    return summaries.get(key) ??
      scheduler.mapSummary(app, message.function, message.map_id, () => summaries.delete(key), (summary) => {
        summaries.set(key, summary);
      });
  };
  const assembly = new ArgsAssembly(maxPayloadBytes);
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
  const settle = (callId: number, outcome: CallOutcome, inPieces: boolean) => {
    if (!running.has(callId)) return;
    if (inPieces && outcome.value && outcome.value.byteLength > chunkBytes) {
      return sendInPieces(callId, outcome.value);
    }
    running.delete(callId);
    writer.output(toOutput(callId, outcome));
    finishIfDone();
  };
  // A piece is written once the one before it is: few are in memory at once. Its log lines,
  // already batched, go first; the call counts as running until its output is queued.
  const sendInPieces = (callId: number, value: Uint8Array) => {
    writer.flush();
    const pieces = splitParts([value]).map((parts) => parts[0]);
    const last = pieces.pop()!;
    let next = 0;
    const sendNext = () => {
      if (stream.writableEnded || stream.destroyed) return;
      if (next < pieces.length) {
        const chunk = { call_id: callId, data: pieces[next++] };
        stream.write({ outputs: [], logs: [], items: [], value_chunks: [chunk] }, sendNext);
        return;
      }
      running.delete(callId);
      writer.output({ call_id: callId, value: last });
      finishIfDone();
    };
    sendNext();
  };
  const refuse = (callId: number, error: StupidModalError) => writer.output(failure(callId, error.code, error.message));
  // Whole arguments start their call; arguments in pieces go to the executor as pieces, never joined here.
  const proceed = (result: PieceResult, callId: number) => {
    if (result.state === "whole") start(result.message, result.args);
    else if (result.state === "refused") refuse(callId, result.error);
  };
  const receive = (message: CallMessage) => {
    const callId = message.call_id;
    if (running.has(callId) || assembly.has(callId)) {
      writer.output(failure(callId, Code.ALREADY_EXISTS, `call id ${callId} is already running in this session`));
      return;
    }
    proceed(assembly.begin(message), callId);
  };
  const start = (message: CallMessage, args: Bytes = message.args) => {
    const callId = message.call_id;
    try {
      const app = store.find(message.version, message.app_name);
      checkCallTarget(who, app, store);
      const onLog = (line: { stream: LogStream; text: string }) =>
        writer.log({ call_id: callId, stream: line.stream, text: line.text });
      const onItem = (value: Uint8Array) => writer.item({ call_id: callId, value });
      const poolCall = scheduler.submit(app, message.function, args, {
        onLog,
        classCall: message,
        onItem,
        identity: who,
        summary: summaryOf(message, app),
      });
      running.set(callId, poolCall);
      const inPieces = message.accept_chunks === true;
      poolCall.outcome.then((outcome) => settle(callId, outcome, inPieces));
    } catch (err) {
      const error = StupidModalError.from(err);
      writer.output(failure(callId, error.code, error.message));
    }
  };
  stream.on("data", (request: SessionRequest) => {
    for (const message of request.calls) receive(message);
    for (const { call_id, data } of request.args_chunks ?? []) proceed(assembly.add(call_id, data), call_id);
    for (const { call_id } of request.cancels) {
      if (assembly.drop(call_id)) {
        refuse(call_id, new StupidModalError(Code.CANCELLED, "call cancelled by the caller"));
      } else running.get(call_id)?.cancel();
    }
    for (const { call_id, count } of request.acks) running.get(call_id)?.credit(count);
  });
  stream.on("end", () => {
    ended = true;
    for (const callId of assembly.ids()) {
      assembly.drop(callId);
      refuse(
        callId,
        new StupidModalError(
          Code.INVALID_ARGUMENT,
          `the session ended before call ${callId}'s arguments were all sent`,
        ),
      );
    }
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
    assembly.clear();
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
