/**
 * `/api/events`: one page's live stream. A snapshot of what the page asked for comes first, then
 * changes as they happen: calls (batched), executors and statistics each second, deploys, and an
 * app's log lines; it ends when the session does.
 */
import type { AppLogs } from "../server/app_logs.ts";
import type { WatchedCall } from "../server/call_monitor.ts";
import type { DashboardData } from "./dashboard_data.ts";
import type { CallPhase, EndEvent, ExecutorsEvent, LogView, Snapshot, StatsEvent, Topic } from "./dashboard_types.ts";
import { callView, logView } from "./dashboard_views.ts";
import { type EventSink, eventStream } from "./event_stream.ts";
import type { LiveFeed } from "./live_feed.ts";
import { jsonError } from "./dashboard_responses.ts";

/** What the stream reads from. */
export interface EventsContext {
  data: DashboardData;
  feed: LiveFeed;
  appLogs: AppLogs;
  /** Ends every stream (the server is closing). */
  closing: AbortSignal;
}

const topics: readonly Topic[] = ["calls", "executors", "stats", "apps", "logs"];
const phases: readonly CallPhase[] = ["queued", "running", "succeeded", "failed", "cancelled"];
/** Calls in a snapshot, and changed calls in one batch before a batch is a fresh list instead. */
const listedCalls = 500;
/** Log lines in a snapshot, and waiting to go out at most. */
const listedLines = 500;
const pendingLines = 2_000;
/** A comment every this many quiet seconds keeps proxies from closing the stream. */
const keepAliveSeconds = 15;

/**
 * Answers `/api/events?topics=calls,stats&app=<name>&call=<id>&phase=<phase>` for a logged-in browser;
 * `stillValid` is asked each second and the stream ends (an `end` event) once it says no.
 *
 * @example
 * ```ts
 * return serveEvents(request, context, () => sessions.find(id) !== undefined);
 * ```
 */
export function serveEvents(request: Request, context: EventsContext, stillValid: () => boolean): Response {
  const { data, feed, appLogs } = context;
  const url = new URL(request.url);
  const asked = (url.searchParams.get("topics") ?? "calls,executors,stats").split(",").filter(Boolean);
  const unknown = asked.find((topic) => !topics.includes(topic as Topic));
  if (unknown !== undefined) {
    return jsonError(400, "INVALID_ARGUMENT", `unknown topic "${unknown}"; topics are ${topics.join(", ")}`);
  }
  const wants = new Set(asked as Topic[]);
  const callId = url.searchParams.get("call") ?? undefined;
  // Calls as they enter one phase (the overview's failures), rather than every change of every call.
  const phase = url.searchParams.get("phase") || undefined;
  if (phase && !phases.includes(phase as CallPhase)) {
    return jsonError(400, "INVALID_ARGUMENT", `phase is one of ${phases.join(", ")}`);
  }
  let app = url.searchParams.get("app") ?? undefined;
  if (wants.has("logs") && !app && callId) app = data.call(callId)?.app;
  if (wants.has("logs") && !app) {
    return jsonError(400, "INVALID_ARGUMENT", "the logs topic needs app=<name> (or call=<id> of a known call)");
  }
  const origin = url.origin;

  return eventStream([request.signal, context.closing], (sink) => {
    // Snapshot, log follower and feed are set up in one tick: nothing is missed in between.
    const snapshot: Snapshot = { now: Date.now() };
    if (wants.has("calls")) {
      if (callId) snapshot.call = data.call(callId) ?? null;
      else snapshot.calls = data.calls({ limit: listedCalls, phase: phase as CallPhase | undefined });
    }
    if (wants.has("executors")) snapshot.executors = data.executors();
    if (wants.has("stats")) {
      snapshot.stats = data.stats(300);
      snapshot.counts = data.counts();
    }
    if (wants.has("apps")) snapshot.apps = data.apps(origin);
    if (wants.has("logs")) snapshot.logs = data.logs(app!, listedLines, callId);
    sink.send("snapshot", snapshot);

    const unfollow = wants.has("logs") ? followLogs(sink, appLogs, app!, callId) : () => {};
    let quiet = 0;
    const removeClient = feed.add({
      wantsExecutors: wants.has("executors"),
      close: () => sink.close(),
      onCalls: wants.has("calls")
        ? (calls) => sendCalls(sink, data, calls, callId, phase as CallPhase | undefined)
        : undefined,
      onAppsChanged: wants.has("apps") ? () => sink.send("apps", data.apps(origin)) : undefined,
      onTick(tick) {
        if (!stillValid()) {
          sink.send("end", { reason: "the session ended; log in again" } satisfies EndEvent);
          sink.close();
          return;
        }
        let sent = false;
        if (tick.executors && wants.has("executors")) {
          sent = sink.send("executors", { now: tick.now, executors: tick.executors } satisfies ExecutorsEvent);
        }
        if (wants.has("stats")) {
          sent = sink.send("stats", { now: tick.now, points: tick.points, counts: tick.counts } satisfies StatsEvent);
        }
        if (sent) quiet = 0;
        else if (++quiet >= keepAliveSeconds) {
          quiet = 0;
          sink.comment("keep-alive");
        }
      },
    });
    return () => {
      removeClient();
      unfollow();
    };
  });
}

/** Changed calls: one call's detail, or rows (a fresh list when too many changed at once). */
function sendCalls(
  sink: EventSink,
  data: DashboardData,
  changed: WatchedCall[],
  callId: string | undefined,
  phase: CallPhase | undefined,
): void {
  if (callId) {
    if (changed.some((call) => call.id === callId)) sink.send("call", data.call(callId) ?? null);
    return;
  }
  const calls = phase ? changed.filter((call) => call.phase === phase) : changed;
  if (calls.length > listedCalls) sink.send("calls", { reset: true, calls: data.calls({ limit: listedCalls, phase }) });
  else if (calls.length > 0) sink.send("calls", { reset: false, calls: calls.map(callView) });
}

/** Passes an app's new lines (one call's, with `callId`) in batches of a tenth of a second. */
function followLogs(sink: EventSink, appLogs: AppLogs, app: string, callId: string | undefined): () => void {
  let pending: LogView[] = [];
  let skipped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    sink.send("logs", { lines: pending, skipped });
    pending = [];
    skipped = 0;
  };
  const unfollow = appLogs.follow(app, (entry) => {
    if (callId && entry.call_id !== callId) return;
    pending.push(logView(entry));
    if (pending.length > pendingLines) {
      skipped += pending.length - pendingLines;
      pending.splice(0, pending.length - pendingLines);
    }
    timer ??= setTimeout(flush, 100);
  });
  return () => {
    unfollow();
    clearTimeout(timer);
  };
}
