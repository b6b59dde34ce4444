/**
 * The logs page: without an app, the apps to choose from; with one, its latest lines and every new
 * one as it is written, kept scrolled to the newest unless the reader scrolls up.
 */
import type { AppView, LogView, Snapshot } from "../dashboard_types.ts";
import { fill, h } from "./dom.ts";
import { logLine } from "./log_lines.ts";
import { connect } from "./live_stream.ts";

/** Lines the page holds at most. */
const keptLines = 2_000;

/**
 * Fills `root` with the log tail of `app` (or the list of apps) and keeps it live.
 *
 * @example
 * ```ts
 * logsPage(document.getElementById("page")!, "demo");
 * ```
 */
export function logsPage(root: HTMLElement, app: string): void {
  if (!app) return chooseApp(root);
  const follow = h("input", { type: "checkbox", id: "log-follow", checked: true });
  const serverLines = h("input", { type: "checkbox", id: "log-server", checked: true });
  const list = h("ol", { class: "log", role: "log", "aria-label": `Log of ${app}`, id: "app-logs" });
  const wrap = h("div", { class: "log-wrap tall", tabindex: 0 }, list);
  const note = h("p", { class: "muted", id: "log-note" });
  fill(
    root,
    h(
      "div",
      { class: "filters" },
      h("div", { class: "field check" }, follow, h("label", { for: "log-follow" }, "Keep showing the newest line")),
      h(
        "div",
        { class: "field check" },
        serverLines,
        h("label", { for: "log-server" }, "Show the server's line per call"),
      ),
      h("a", { href: `/ui/calls?app=${encodeURIComponent(app)}` }, `Calls of ${app}`),
    ),
    note,
    wrap,
  );
  serverLines.addEventListener("change", () => list.classList.toggle("hide-server", !serverLines.checked));
  wrap.addEventListener("scroll", () => {
    // Scrolling up pauses following; back at the bottom resumes it.
    const atBottom = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 8;
    if (follow.checked !== atBottom) follow.checked = atBottom;
  });

  const add = (lines: LogView[], skipped: number) => {
    if (skipped > 0) {
      list.append(h("li", { class: "log-line skipped" }, `(${skipped} lines skipped: they came faster than shown)`));
    }
    list.append(...lines.map((line) => logLine(line, true)));
    while (list.childElementCount > keptLines) list.firstElementChild!.remove();
    const text = list.childElementCount === 0 ? "No lines yet: they appear here as they are written." : "";
    if (note.textContent !== text) note.textContent = text;
    if (follow.checked) wrap.scrollTop = wrap.scrollHeight;
  };

  connect({ topics: ["logs"], app }, {
    snapshot(snapshot: Snapshot) {
      root.setAttribute("aria-busy", "false");
      list.replaceChildren();
      add(snapshot.logs ?? [], 0);
    },
    logs(batch: { lines: LogView[]; skipped: number }) {
      add(batch.lines, batch.skipped);
    },
  });
}

function chooseApp(root: HTMLElement): void {
  connect({ topics: ["apps"] }, {
    snapshot(snapshot: Snapshot) {
      root.setAttribute("aria-busy", "false");
      render(root, snapshot.apps ?? []);
    },
    apps(apps: AppView[]) {
      render(root, apps);
    },
  });
}

function render(root: HTMLElement, apps: AppView[]): void {
  fill(
    root,
    apps.length === 0 ? h("p", { class: "empty" }, "No app is deployed.") : [
      h("p", {}, "Choose an app to follow its log:"),
      h(
        "ul",
        { class: "app-links" },
        apps.map((app) => h("li", {}, h("a", { href: `/ui/logs/${encodeURIComponent(app.name)}` }, app.name))),
      ),
    ],
  );
}
