/** The dashboard's reads of the server: apps, calls (filtered), one call, executors, statistics, logs. */
import type { AppLogs } from "../server/app_logs.ts";
import type { AppStore } from "../server/app_store.ts";
import type { CallMonitor } from "../server/call_monitor.ts";
import type { ExecutorEntry } from "../server/scheduler.ts";
import type {
  AppView,
  CallCounts,
  CallDetailView,
  CallPhase,
  CallView,
  ExecutorView,
  LogView,
  StatsPoint,
} from "./dashboard_types.ts";
import { appViews, callDetail, callView, type KeptCall, logView } from "./dashboard_views.ts";
import type { LiveFeed } from "./live_feed.ts";

/** Where the dashboard reads from. */
export interface DashboardSources {
  monitor: CallMonitor;
  store: AppStore;
  /** Every executor of every pool. */
  executors: () => ExecutorEntry[];
  appLogs: AppLogs;
  /** A spawned or scheduled call the store keeps; throws when there is none. */
  spawnedCall: (id: string) => KeptCall;
  feed: LiveFeed;
}

/** Which calls to list. */
export interface CallFilter {
  app?: string;
  function?: string;
  /** A phase, or "active" for queued and running. */
  phase?: CallPhase | "active";
  trigger?: string;
  caller?: string;
  /** Part of the id or of the error's message. */
  text?: string;
  limit?: number;
}

/** Lines of an app's log searched for one call's. */
const callLogWindow = 5_000;

/**
 * Reads for the API and the streams' snapshots.
 *
 * @example
 * ```ts
 * const data = new DashboardData(sources);
 * data.calls({ phase: "failed", limit: 20 });
 * ```
 */
export class DashboardData {
  #sources: DashboardSources;

  constructor(sources: DashboardSources) {
    this.#sources = sources;
  }

  /** Deployed apps; `origin` is the web port's, for web functions' URLs. */
  apps(origin: string): AppView[] {
    return appViews(this.#sources.store, this.#sources.executors(), origin, Date.now());
  }

  /** Unfinished calls first, then the latest finished, newest first. */
  calls(filter: CallFilter = {}): CallView[] {
    const limit = Math.max(1, Math.min(filter.limit ?? 500, 2_000));
    const text = filter.text?.toLowerCase();
    const views: CallView[] = [];
    for (const call of this.#sources.monitor.calls()) {
      if (filter.app && call.appName !== filter.app) continue;
      if (filter.function && call.functionName !== filter.function) continue;
      if (filter.trigger && call.trigger !== filter.trigger) continue;
      if (filter.caller && call.caller !== filter.caller) continue;
      if (filter.phase === "active" ? call.finishedAt !== undefined : filter.phase && call.phase !== filter.phase) {
        continue;
      }
      if (
        text && !call.id.toLowerCase().includes(text) && !call.failure?.message.toLowerCase().includes(text)
      ) continue;
      views.push(callView(call));
      if (views.length >= limit) break;
    }
    return views;
  }

  /** One call in full, if the monitor or the store still has it. */
  call(id: string): CallDetailView | undefined {
    return callDetail(this.#sources.monitor.get(id), this.#kept(id));
  }

  executors(): ExecutorView[] {
    return this.#sources.feed.executors();
  }

  /** Every whole second of the last `seconds`. */
  stats(seconds: number): StatsPoint[] {
    return this.#sources.feed.history(Math.max(10, Math.min(seconds, 600)));
  }

  counts(): CallCounts {
    return this.#sources.feed.counts();
  }

  /** The last `count` lines of an app's log; with `callId`, those of that call among its latest lines. */
  logs(app: string, count: number, callId?: string): LogView[] {
    const limit = Math.max(1, Math.min(count, 5_000));
    if (!callId) return this.#sources.appLogs.tail(app, limit).map(logView);
    return this.#sources.appLogs.tail(app, callLogWindow).filter((entry) => entry.call_id === callId)
      .slice(-limit).map(logView);
  }

  #kept(id: string): KeptCall | undefined {
    if (!/^f[cm]-/.test(id)) return undefined;
    try {
      return this.#sources.spawnedCall(id);
    } catch {
      return undefined;
    }
  }
}
