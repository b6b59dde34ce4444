/** The executors page: every executor process, live, and how many there were over the last minutes. */
import type { ExecutorsEvent, ExecutorView, Snapshot, StatsEvent } from "../dashboard_types.ts";
import { fill, h } from "./dom.ts";
import { bytes, duration, iso, shortVersion, time } from "./format.ts";
import { LineChart } from "./line_chart.ts";
import { connect } from "./live_stream.ts";
import { ServerClock } from "./server_clock.ts";
import { StatsHistory } from "./stats_history.ts";

const columns = ["PID", "App", "Function", "Version", "State", "Load", "Inputs served", "Memory", "Uptime", "Started"];

/**
 * Fills `root` with the executors page and keeps it live.
 *
 * @example
 * ```ts
 * executorsPage(document.getElementById("page")!);
 * ```
 */
export function executorsPage(root: HTMLElement): void {
  const clock = new ServerClock();
  const history = new StatsHistory(300);
  const chart = new LineChart({
    title: "Executors",
    unit: "",
    series: [{ label: "executors", className: "series-0" }],
  });
  const count = h("p", { class: "muted", id: "executors-count" });
  const tbody = h("tbody");
  fill(
    root,
    count,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "executors", "aria-describedby": "executors-count" },
        h("caption", { class: "visually-hidden" }, "Executor processes"),
        h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column)))),
        tbody,
      ),
    ),
    chart.element,
  );
  let executors: ExecutorView[] = [];

  const render = () => {
    root.setAttribute("aria-busy", "false");
    const now = clock.now();
    const sorted = [...executors].sort((a, b) =>
      a.app.localeCompare(b.app) || a.function.localeCompare(b.function) || a.pid - b.pid
    );
    tbody.replaceChildren(...sorted.map((executor) =>
      h(
        "tr",
        { "data-pid": executor.pid, "data-state": executor.state, id: `pid-${executor.pid}` },
        h("td", { class: "num mono" }, executor.pid),
        h("td", {}, executor.app),
        h("td", {}, executor.function),
        h("td", { class: "mono", title: executor.version }, shortVersion(executor.version)),
        h("td", {}, h("span", { class: `state state-${executor.state}` }, executor.state)),
        h("td", { class: "num" }, executor.load),
        h("td", { class: "num" }, executor.served),
        h("td", { class: "num" }, bytes(executor.rssBytes)),
        h("td", { class: "num" }, duration(now - executor.startedAt)),
        h("td", {}, h("time", { datetime: iso(executor.startedAt) }, time(executor.startedAt))),
      )
    ));
    if (sorted.length === 0) {
      tbody.append(
        h(
          "tr",
          {},
          h(
            "td",
            { colspan: columns.length, class: "empty" },
            "No executors are running. One starts with a function's first call, and stops once idle for its scale-down time.",
          ),
        ),
      );
    }
    const summary = `${executors.length} executor${executors.length === 1 ? "" : "s"}, ` +
      `${bytes(executors.reduce((sum, e) => sum + (e.rssBytes ?? 0), 0))} resident in all`;
    if (count.textContent !== summary) count.textContent = summary;
  };
  const redraw = () => chart.update([history.window().map((point) => point.executors)]);

  connect({ topics: ["executors", "stats"] }, {
    snapshot(snapshot: Snapshot) {
      clock.sync(snapshot.now);
      executors = snapshot.executors ?? [];
      history.clear();
      history.apply(snapshot.stats ?? []);
      render();
      redraw();
    },
    executors(event: ExecutorsEvent) {
      clock.sync(event.now);
      executors = event.executors;
      render();
    },
    stats(event: StatsEvent) {
      history.apply(event.points);
      redraw();
    },
  });
}
