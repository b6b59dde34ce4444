/** The server's records (calls, spawned calls, executors, apps, log lines) as the dashboard shows them. */
import { Code } from "../wire/errors.ts";
import { decodeValue } from "../wire/codec.ts";
import type { AppLogEntry, Failure, FunctionSpec, OutputMessage } from "../wire/proto.ts";
import type { WatchedCall } from "../server/call_monitor.ts";
import type { ExecutorEntry } from "../server/scheduler.ts";
import type { AppStore } from "../server/app_store.ts";
import { toJsonValue } from "../server/json_value.ts";
import { parseCron } from "../server/cron_expression.ts";
import type { AppView, CallDetailView, CallView, ExecutorView, FunctionView, LogView } from "./dashboard_types.ts";

/** Result text shown at most, in characters. */
const resultPreviewChars = 16_000;

/**
 * A monitored call's row.
 *
 * @example
 * ```ts
 * monitor.calls(500).map(callView);
 * ```
 */
export function callView(call: WatchedCall): CallView {
  return {
    id: call.id,
    app: call.appName,
    version: call.version,
    function: call.functionName,
    trigger: call.trigger,
    caller: call.caller,
    phase: call.phase,
    queuedAt: call.queuedAt,
    startedAt: call.startedAt,
    finishedAt: call.finishedAt,
    pid: call.pid,
    attempts: call.attempts,
    argsBytes: call.argsBytes,
    resultBytes: call.resultBytes,
    error: call.failure ? errorView(call.failure) : undefined,
  };
}

/** What the spawned calls keep of one: its row and its inputs' outcomes. */
export interface KeptCall {
  row: {
    id: string;
    appName: string;
    version: string;
    function: string;
    trigger: string;
    caller?: string;
    createdAt: number;
    finishedAt?: number;
  };
  outputs: readonly (OutputMessage | undefined)[];
}

/**
 * One call in full: the monitor's record and, for a spawned or scheduled call, the outcome the
 * store keeps (its result, or the failure when the monitor no longer has the call).
 *
 * @example
 * ```ts
 * callDetail(monitor.get(id), keptCall(id));
 * ```
 */
export function callDetail(watched: WatchedCall | undefined, kept: KeptCall | undefined): CallDetailView | undefined {
  const base = watched ? callView(watched) : kept ? keptCallView(kept) : undefined;
  if (!base) return undefined;
  const failure = watched?.failure ?? kept?.outputs[0]?.failure ?? undefined;
  const detail: CallDetailView = { ...base };
  if (failure?.remote) {
    detail.remote = { name: failure.remote.name, message: failure.remote.message, stack: failure.remote.stack };
  }
  const value = kept?.outputs.length === 1 ? kept.outputs[0]?.value : undefined;
  if (base.phase === "succeeded" && value) {
    detail.result = resultPreview(value);
  } else if (base.phase === "succeeded") {
    detail.resultNote = kept && kept.outputs.length > 1
      ? `a batch of ${kept.outputs.length} inputs: its results went to its caller`
      : "the server does not keep the results of direct calls: this one went back to its caller";
  }
  return detail;
}

/**
 * An executor's row, with its memory if known.
 *
 * @example
 * ```ts
 * scheduler.executors().map((entry) => executorView(entry, rss.get(entry.pid)));
 * ```
 */
export function executorView(entry: ExecutorEntry, rssBytes: number | undefined): ExecutorView {
  return {
    pid: entry.pid,
    app: entry.appName,
    version: entry.version,
    function: entry.functionName,
    state: entry.state,
    load: entry.load,
    served: entry.served,
    startedAt: entry.startedAt,
    rssBytes,
  };
}

/**
 * Every deployed app with its deployed version's functions; `origin` is the web port's own
 * (`http://127.0.0.1:8080`), for web functions' URLs.
 *
 * @example
 * ```ts
 * appViews(store, scheduler.executors(), new URL(request.url).origin, Date.now());
 * ```
 */
export function appViews(store: AppStore, executors: ExecutorEntry[], origin: string, now: number): AppView[] {
  const views: AppView[] = [];
  for (const deployment of store.deployments()) {
    const app = store.get(deployment.version);
    if (!app) continue;
    const running = !deployment.stopped;
    views.push({
      name: deployment.appName,
      version: deployment.version,
      state: running ? "running" : "stopped",
      deployedAt: deployment.deployedAt,
      deployCount: deployment.deployCount,
      registeredAt: app.registeredAt,
      functions: [...app.functions.values()].map((spec) => {
        const alive = executors.filter((e) => e.version === app.version && e.functionName === spec.name).length;
        const base = `${origin}/apps/${encodeURIComponent(deployment.appName)}/${encodeURIComponent(spec.name)}`;
        return functionView(spec, alive, base, running ? { deployedAt: deployment.deployedAt, now } : undefined);
      }),
    });
  }
  return views.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * A log line.
 *
 * @example
 * ```ts
 * appLogs.tail("demo", 200).map(logView);
 * ```
 */
export function logView(entry: AppLogEntry): LogView {
  return {
    time: entry.time_ms,
    function: entry.function,
    callId: entry.call_id,
    stream: entry.stream === 1 ? "stderr" : "stdout",
    text: entry.text,
    server: entry.server,
  };
}

function functionView(
  spec: FunctionSpec,
  executors: number,
  url: string,
  deployed: { deployedAt: number; now: number } | undefined,
): FunctionView {
  const permissions = spec.permissions ?? { read: [], write: [], net: [], env: [] };
  return {
    name: spec.name,
    kind: spec.is_class ? "class" : spec.is_generator ? "generator" : "function",
    permissions: {
      read: [...permissions.read ?? []],
      write: [...permissions.write ?? []],
      net: [...permissions.net ?? []],
      env: [...permissions.env ?? []],
    },
    timeoutMs: spec.timeout_ms ?? 0,
    memoryMb: spec.memory_mb ?? 0,
    minWorkers: spec.min_workers ?? 0,
    maxWorkers: spec.max_workers ?? 0,
    scaledownMs: spec.scaledown_window_ms ?? 0,
    maxInputs: spec.max_inputs || 1,
    maxRetries: spec.max_retries ?? 0,
    secrets: [...spec.secrets ?? []],
    schedule: spec.schedule && (spec.schedule.cron || spec.schedule.every_ms)
      ? scheduleView(spec.schedule.cron, spec.schedule.every_ms, deployed)
      : undefined,
    web: spec.web ? { method: spec.web.method || "POST", url } : undefined,
    executors,
  };
}

/** The schedule's text and, for a running app, its next fire time. */
function scheduleView(
  cron: string,
  everyMs: number,
  deployed: { deployedAt: number; now: number } | undefined,
): { text: string; nextAt?: number } {
  if (cron) {
    let nextAt: number | undefined;
    try {
      nextAt = deployed ? parseCron(cron).next(deployed.now) : undefined;
    } catch {
      // Registration checked it; a bad one just shows no next time.
    }
    return { text: `cron "${cron}" (UTC)`, nextAt };
  }
  // A period runs at the deployment time plus whole periods (as the schedules runner does).
  const nextAt = deployed
    ? deployed.deployedAt + (Math.floor((deployed.now - deployed.deployedAt) / everyMs) + 1) * everyMs
    : undefined;
  return { text: `every ${everyMs} ms`, nextAt };
}

function errorView(failure: Failure): { code: string; message: string } {
  return { code: Code[failure.code] ?? String(failure.code), message: failure.message };
}

/** A spawned call the monitor no longer has (evicted, or from before a restart). */
function keptCallView(kept: KeptCall): CallView {
  const { row, outputs } = kept;
  const failure = outputs.find((output) => output?.failure)?.failure ?? undefined;
  const finished = row.finishedAt !== undefined;
  return {
    id: row.id,
    app: row.appName,
    version: row.version,
    function: row.function,
    trigger: row.trigger,
    caller: row.caller ?? "",
    phase: !finished ? "running" : failure ? failure.code === Code.CANCELLED ? "cancelled" : "failed" : "succeeded",
    queuedAt: row.createdAt,
    finishedAt: row.finishedAt,
    attempts: 0,
    argsBytes: 0,
    resultBytes: outputs.length === 1 ? outputs[0]?.value?.byteLength : undefined,
    error: failure ? errorView(failure) : undefined,
  };
}

function resultPreview(value: Uint8Array): { json: string; truncated: boolean } {
  let json: string;
  try {
    json = JSON.stringify(toJsonValue(decodeValue(value, "result")), null, 2) ?? "null";
  } catch (err) {
    json = `(cannot be shown: ${(err as Error).message})`;
  }
  const truncated = json.length > resultPreviewChars;
  return { json: truncated ? json.slice(0, resultPreviewChars) : json, truncated };
}
