/**
 * The overview: totals, charts of calls per second, latency percentiles and executors over the
 * last five minutes, and the latest failures.
 */
import type { CallCounts, CallView, Snapshot, StatsEvent } from "../dashboard_types.ts";
import { fill, h } from "./dom.ts";
import { callColumns, CallRows } from "./call_rows.ts";
import { LineChart } from "./line_chart.ts";
import { connect } from "./live_stream.ts";
import { ServerClock } from "./server_clock.ts";
import { StatsHistory } from "./stats_history.ts";

/** Failures listed. */
const listedFailures = 10;

/**
 * Fills `root` with the overview and keeps it live.
 *
 * @example
 * ```ts
 * overviewPage(document.getElementById("page")!);
 * ```
 */
export function overviewPage(root: HTMLElement): void {
  const clock = new ServerClock();
  const history = new StatsHistory(300);
  const rows = new CallRows(() => clock.now());
  const rate = new LineChart({
    title: "Calls per second",
    unit: "calls/s",
    series: [{ label: "finished", className: "series-0" }, { label: "failed", className: "series-2" }],
  });
  const latency = new LineChart({
    title: "Latency (queued to finished)",
    unit: "ms",
    series: [{ label: "p50", className: "series-0" }, { label: "p99", className: "series-1" }],
  });
  const executors = new LineChart({
    title: "Executors",
    unit: "",
    series: [{ label: "executors", className: "series-0" }],
  });
  const counters = h("dl", { class: "counters", id: "counters" });
  const failures = h("tbody");
  fill(
    root,
    counters,
    h("div", { class: "charts" }, rate.element, latency.element, executors.element),
    h(
      "section",
      { "aria-labelledby": "failures-heading" },
      h("h2", { id: "failures-heading" }, "Latest failures"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "calls" },
          h("thead", {}, h("tr", {}, callColumns.map((column) => h("th", { scope: "col" }, column)))),
          failures,
        ),
      ),
      h("p", {}, h("a", { href: "/ui/calls?phase=failed" }, "All failed calls")),
    ),
  );
  const failed = new Map<string, CallView>();

  const showCounts = (counts: CallCounts | undefined, executorCount: number) => {
    if (!counts) return;
    fill(
      counters,
      [
        ["Unfinished", counts.open],
        ["Finished", counts.finished],
        ["Failed", counts.failed],
        ["Executors", executorCount],
      ].map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
    );
  };
  const redraw = () => {
    const points = history.window();
    rate.update([points.map((p) => p.calls), points.map((p) => p.failed)]);
    latency.update([points.map((p) => p.p50Ms), points.map((p) => p.p99Ms)]);
    executors.update([points.map((p) => p.executors)]);
    return points.at(-1)?.executors ?? 0;
  };
  const showFailures = () => {
    const latest = [...failed.values()].sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0)).slice(
      0,
      listedFailures,
    );
    for (const call of failed.values()) if (!latest.includes(call)) failed.delete(call.id);
    failures.replaceChildren(...latest.map((call) => rows.row(call)));
    if (latest.length === 0) {
      failures.append(h("tr", {}, h("td", { colspan: callColumns.length, class: "empty" }, "No failures.")));
    }
  };
  const takeCalls = (calls: CallView[]) => {
    for (const call of calls) if (call.phase === "failed") failed.set(call.id, call);
  };

  connect({ topics: ["stats", "calls"], phase: "failed" }, {
    snapshot(snapshot: Snapshot) {
      root.setAttribute("aria-busy", "false");
      clock.sync(snapshot.now);
      history.clear();
      history.apply(snapshot.stats ?? []);
      failed.clear();
      takeCalls(snapshot.calls ?? []);
      showCounts(snapshot.counts, redraw());
      showFailures();
    },
    stats(event: StatsEvent) {
      clock.sync(event.now);
      history.apply(event.points);
      showCounts(event.counts, redraw());
    },
    calls(batch: { reset: boolean; calls: CallView[] }) {
      takeCalls(batch.calls);
      showFailures();
    },
  });
}
