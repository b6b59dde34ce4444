/**
 * What the dashboard's open streams share: call changes gathered and passed on a few times a
 * second, a once-a-second tick with the executors (and their memory) and the latest statistics,
 * news of deploys, and the executor count of every second of the last ten minutes.
 */
import type { CallMonitor, WatchedCall } from "../server/call_monitor.ts";
import type { ExecutorEntry } from "../server/scheduler.ts";
import type { CallCounts, ExecutorView, StatsPoint } from "./dashboard_types.ts";
import { executorView } from "./dashboard_views.ts";
import { residentMemory } from "./executor_memory.ts";

/** One second's tick, as a stream receives it. */
export interface FeedTick {
  now: number;
  /** Set when some stream wants executors. */
  executors?: ExecutorView[];
  /** The last two whole seconds. */
  points: StatsPoint[];
  counts: CallCounts;
}

/** One open stream, as the feed sees it. */
export interface FeedClient {
  /** Wants executors (with memory) on each tick. */
  wantsExecutors: boolean;
  /** Receives the calls that changed since the last batch (the latest state of each). */
  onCalls?(calls: WatchedCall[]): void;
  onTick(tick: FeedTick): void;
  /** An app was deployed or stopped. */
  onAppsChanged?(): void;
  /** The feed dropped the stream (delivering to it failed): end it. */
  close?(): void;
}

/** Where the feed reads from. */
export interface LiveFeedSources {
  monitor: CallMonitor;
  executors: () => ExecutorEntry[];
  /** Registers a listener for deploys and stops (never removed: the feed ignores it once closed). */
  onDeploymentChange: (listener: (appName: string) => void) => void;
  /** Ends the feed (the server is closing). */
  closing: AbortSignal;
  /** How often changed calls go out (default 200 ms). */
  batchMs?: number;
  /** Where a failure to feed a stream is reported (a bug: the stream is dropped, the server goes on). */
  log?: (line: string) => void;
}

/** Changed calls in one batch beyond which the next batch waits a second. */
const floodCalls = 500;
/** Seconds of executor counts kept. */
const keptSeconds = 600;

/**
 * The shared source of the dashboard's live streams. It samples executor counts once a second
 * from its start; it reads memory and builds ticks only while a stream is open.
 *
 * @example
 * ```ts
 * const feed = new LiveFeed({ monitor, executors: () => scheduler.executors(), onDeploymentChange, closing });
 * const remove = feed.add({ wantsExecutors: true, onTick: (tick) => console.log(tick.executors) });
 * ```
 */
export class LiveFeed {
  #sources: LiveFeedSources;
  #clients = new Set<FeedClient>();
  /** Streams that want calls. */
  #callClients = 0;
  #changed = new Map<string, WatchedCall>();
  #batchTimer?: ReturnType<typeof setTimeout>;
  #batchMs: number;
  #ticker: ReturnType<typeof setInterval>;
  #ticking = false;
  #counts: { second: number; count: number }[] = [];
  #memory = new Map<number, number>();
  #unsubscribe: () => void;
  #closed = false;

  constructor(sources: LiveFeedSources) {
    this.#sources = sources;
    this.#batchMs = sources.batchMs ?? 200;
    this.#unsubscribe = sources.monitor.subscribe((call) => this.#callChanged(call));
    sources.onDeploymentChange(() => {
      if (this.#closed) return;
      this.#each((client) => client.onAppsChanged?.());
    });
    this.#ticker = setInterval(() => {
      this.#tick().catch((err) => (sources.log ?? console.error)(`dashboard: a tick failed: ${err?.stack ?? err}`));
    }, 1000);
    Deno.unrefTimer(this.#ticker);
    this.#sample(Date.now());
    sources.closing.addEventListener("abort", () => this.#close(), { once: true });
  }

  /** Adds a stream; returns what removes it. */
  add(client: FeedClient): () => void {
    if (this.#clients.has(client)) return () => {};
    this.#clients.add(client);
    if (client.onCalls) this.#callClients++;
    return () => {
      if (this.#clients.delete(client) && client.onCalls) this.#callClients--;
    };
  }

  /** Streams open now. */
  get size(): number {
    return this.#clients.size;
  }

  /** The executors now, with the memory last read for each. */
  executors(): ExecutorView[] {
    return this.#sources.executors().map((entry) => executorView(entry, this.#memory.get(entry.pid)));
  }

  /** Every whole second of the last `seconds`, oldest first, quiet seconds as zeros. */
  history(seconds: number, now = Date.now()): StatsPoint[] {
    const last = Math.floor(now / 1000) - 1;
    return this.#points(last - seconds + 1, last);
  }

  /** Totals since the server started. */
  counts(): CallCounts {
    return this.#sources.monitor.counts();
  }

  #points(first: number, last: number): StatsPoint[] {
    const stats = new Map(this.#sources.monitor.stats(last - first + 2).map((entry) => [entry.second, entry]));
    const counts = new Map(this.#counts.map((entry) => [entry.second, entry.count]));
    // A second without a sample (the feed just started, or a tick came late) shows the one before.
    let executors = this.#counts.findLast((entry) => entry.second < first)?.count ?? 0;
    const points: StatsPoint[] = [];
    for (let second = first; second <= last; second++) {
      executors = counts.get(second) ?? executors;
      const entry = stats.get(second);
      points.push({
        second,
        calls: entry?.calls ?? 0,
        failed: entry?.failed ?? 0,
        p50Ms: entry?.p50Ms ?? 0,
        p99Ms: entry?.p99Ms ?? 0,
        executors,
      });
    }
    return points;
  }

  #callChanged(call: WatchedCall): void {
    if (this.#closed || this.#callClients === 0) return;
    this.#changed.set(call.id, call);
    this.#batchTimer ??= setTimeout(() => this.#sendCalls(), this.#batchMs);
  }

  #sendCalls(): void {
    this.#batchTimer = undefined;
    const calls = [...this.#changed.values()];
    this.#changed.clear();
    // A flood of calls goes out once a second: pages cannot show more, and browsers need not redraw more.
    this.#batchMs = calls.length > floodCalls ? 1000 : this.#sources.batchMs ?? 200;
    this.#each((client) => client.onCalls?.(calls));
  }

  /** Runs `deliver` for each stream; a stream whose delivery throws is dropped and the error logged. */
  #each(deliver: (client: FeedClient) => void): void {
    for (const client of [...this.#clients]) {
      try {
        deliver(client);
      } catch (err) {
        this.#clients.delete(client);
        if (client.onCalls) this.#callClients--;
        client.close?.();
        const log = this.#sources.log ?? console.error;
        log(`dashboard: a live stream failed and was dropped: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }

  #sample(now: number): ExecutorEntry[] {
    const entries = this.#sources.executors();
    const second = Math.floor(now / 1000);
    if (this.#counts.at(-1)?.second === second) this.#counts.at(-1)!.count = entries.length;
    else this.#counts.push({ second, count: entries.length });
    if (this.#counts.length > keptSeconds) this.#counts.splice(0, this.#counts.length - keptSeconds);
    return entries;
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#ticking) return;
    const now = Date.now();
    const entries = this.#sample(now);
    if (this.#clients.size === 0) return;
    this.#ticking = true;
    try {
      let executors: ExecutorView[] | undefined;
      if ([...this.#clients].some((client) => client.wantsExecutors)) {
        this.#memory = await residentMemory(entries.map((entry) => entry.pid));
        executors = entries.map((entry) => executorView(entry, this.#memory.get(entry.pid)));
      }
      if (this.#closed) return;
      const last = Math.floor(now / 1000) - 1;
      const tick: FeedTick = { now, executors, points: this.#points(last - 1, last), counts: this.counts() };
      this.#each((client) => client.onTick(tick));
    } finally {
      this.#ticking = false;
    }
  }

  #close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    clearTimeout(this.#batchTimer);
    this.#unsubscribe();
    this.#clients.clear();
    this.#callClients = 0;
  }
}
