/**
 * One call's page: where it is and how long it took, its inputs' and result's sizes, its result
 * or its error with the remote stack, and its log lines, live.
 */
import type { CallDetailView, LogView, Snapshot } from "../dashboard_types.ts";
import { type Child, fill, h } from "./dom.ts";
import { bytes, duration, iso, shortVersion, time } from "./format.ts";
import { callDuration, phaseBadge } from "./call_rows.ts";
import { logLine } from "./log_lines.ts";
import { connect } from "./live_stream.ts";
import { ServerClock } from "./server_clock.ts";

/**
 * Fills `root` with the page of call `id` and keeps it live.
 *
 * @example
 * ```ts
 * callPage(document.getElementById("page")!, "fc-0d9f…");
 * ```
 */
export function callPage(root: HTMLElement, id: string): void {
  const clock = new ServerClock();
  const summary = h("section", { "aria-labelledby": "call-summary-heading" });
  const outcome = h("section", { "aria-labelledby": "call-outcome-heading" });
  const logList = h("ol", { class: "log", role: "log", "aria-label": "Log lines of this call", id: "call-logs" });
  const logEmpty = h("p", { class: "muted" }, "No log lines from this call (yet).");
  fill(
    root,
    summary,
    outcome,
    h(
      "section",
      { "aria-labelledby": "call-logs-heading" },
      h("h2", { id: "call-logs-heading" }, "Logs"),
      logEmpty,
      h("div", { class: "log-wrap" }, logList),
    ),
  );
  let call: CallDetailView | null = null;

  const render = () => {
    root.setAttribute("aria-busy", "false");
    if (!call) {
      fill(
        summary,
        h("h2", { id: "call-summary-heading" }, "Not known"),
        h(
          "p",
          {},
          "The server does not know this call now: it keeps the latest 2,000 calls since it started, and the outcomes ",
          "of spawned and scheduled calls for a day. ",
          h("a", { href: "/ui/calls" }, "All calls"),
        ),
      );
      fill(outcome);
      return;
    }
    document.title = `Call ${call.id} (${call.phase}) · Stupid Modal`;
    fill(
      summary,
      h("h2", { id: "call-summary-heading" }, "Summary"),
      h("p", { class: "call-state", id: "call-phase" }, phaseBadge(call.phase), " ", callDuration(call, clock.now())),
      h(
        "dl",
        { class: "facts" },
        fact("App", h("a", { href: `/ui/apps#app-${call.app}` }, call.app)),
        fact("Function", call.function),
        fact("Version", h("span", { class: "mono", title: call.version }, shortVersion(call.version))),
        fact("Trigger", call.trigger),
        fact("Caller (token)", call.caller || h("span", { class: "muted" }, "not recorded")),
        fact("Queued", at(call.queuedAt)),
        fact("Started", at(call.startedAt)),
        fact("Finished", at(call.finishedAt)),
        fact(
          "Waited in queue",
          call.startedAt !== undefined ? duration(call.startedAt - call.queuedAt) : "–",
        ),
        fact(
          "Ran for",
          call.startedAt !== undefined && call.finishedAt !== undefined
            ? duration(call.finishedAt - call.startedAt)
            : "–",
        ),
        fact("Attempts", String(call.attempts)),
        fact("Executor", call.pid !== undefined ? h("span", { class: "mono" }, String(call.pid)) : "–"),
        fact("Arguments", bytes(call.argsBytes)),
        fact("Result", bytes(call.resultBytes)),
      ),
    );
    fill(outcome, ...outcomeSection(call));
  };

  const addLines = (lines: LogView[]) => {
    if (lines.length === 0) return;
    logEmpty.hidden = true;
    logList.append(...lines.map((line) => logLine(line, false)));
  };

  connect({ topics: ["calls", "logs"], call: id }, {
    snapshot(snapshot: Snapshot) {
      clock.sync(snapshot.now);
      call = snapshot.call ?? null;
      logList.replaceChildren();
      logEmpty.hidden = false;
      addLines(snapshot.logs ?? []);
      render();
    },
    call(update: CallDetailView | null) {
      call = update;
      render();
    },
    logs(batch: { lines: LogView[] }) {
      addLines(batch.lines);
    },
  });
  setInterval(() => {
    if (call && call.finishedAt === undefined) {
      const state = document.getElementById("call-phase");
      if (state) fill(state, phaseBadge(call.phase), " ", callDuration(call, clock.now()));
    }
  }, 1000);
}

function outcomeSection(call: CallDetailView): Child[] {
  if (call.phase === "queued" || call.phase === "running") {
    return [h("h2", { id: "call-outcome-heading" }, "Outcome"), h("p", { class: "muted" }, "Not finished yet.")];
  }
  if (call.phase === "succeeded") {
    return [
      h("h2", { id: "call-outcome-heading" }, "Result"),
      call.result
        ? [
          h("pre", { class: "result", id: "call-result", tabindex: 0 }, call.result.json),
          call.result.truncated && h("p", { class: "muted" }, "(cut short)"),
        ]
        : h("p", { class: "muted", id: "call-result-note" }, `${bytes(call.resultBytes)}; ${call.resultNote ?? ""}`),
    ];
  }
  return [
    h("h2", { id: "call-outcome-heading" }, call.phase === "cancelled" ? "Cancelled" : "Error"),
    call.error &&
    h("p", { class: "error", id: "call-error" }, h("strong", {}, call.error.code), ": ", call.error.message),
    call.remote && [
      h("h3", {}, "Remote exception"),
      h("p", {}, h("strong", {}, call.remote.name), ": ", call.remote.message),
      h("pre", { class: "stack", id: "call-stack", tabindex: 0, "aria-label": "Remote stack" }, call.remote.stack),
    ],
  ];
}

function fact(term: string, value: Child): HTMLElement[] {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function at(epochMs: number | undefined): Child {
  return epochMs === undefined ? "–" : h("time", { datetime: iso(epochMs) }, time(epochMs));
}
