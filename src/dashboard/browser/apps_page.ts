/**
 * The apps page: each deployed app with its deployed version and functions: permissions, limits,
 * pool settings, retries, secrets, schedules, web URLs and executors alive now.
 */
import type { AppView, ExecutorsEvent, ExecutorView, FunctionView, Snapshot } from "../dashboard_types.ts";
import { type Child, fill, h } from "./dom.ts";
import { duration, iso, shortVersion, time } from "./format.ts";
import { connect } from "./live_stream.ts";

const columns = ["Function", "Permissions", "Limits", "Pool", "Retries", "Schedule", "Web endpoint", "Executors"];

/**
 * Fills `root` with the apps page and keeps it live.
 *
 * @example
 * ```ts
 * appsPage(document.getElementById("page")!);
 * ```
 */
export function appsPage(root: HTMLElement): void {
  let apps: AppView[] = [];
  let executors: ExecutorView[] = [];
  const executorCells = new Map<string, HTMLTableCellElement>();

  const render = () => {
    root.setAttribute("aria-busy", "false");
    executorCells.clear();
    if (apps.length === 0) {
      fill(
        root,
        h(
          "p",
          { class: "empty" },
          "No app is deployed. Deploy one with ",
          h("code", {}, "stupid-modal deploy app.ts"),
          ".",
        ),
      );
      return;
    }
    fill(root, apps.map((app) => appSection(app, executorCells)));
    updateExecutors();
  };
  const updateExecutors = () => {
    for (const [key, cell] of executorCells) {
      const alive = executors.filter((e) => `${e.version}/${e.function}` === key);
      const text = alive.length === 0 ? "none" : `${alive.length} (${states(alive)})`;
      if (cell.textContent !== text) cell.textContent = text;
    }
  };

  connect({ topics: ["apps", "executors"] }, {
    snapshot(snapshot: Snapshot) {
      apps = snapshot.apps ?? [];
      executors = snapshot.executors ?? [];
      render();
    },
    apps(update: AppView[]) {
      apps = update;
      render();
    },
    executors(event: ExecutorsEvent) {
      executors = event.executors;
      updateExecutors();
    },
  });
}

function appSection(app: AppView, executorCells: Map<string, HTMLTableCellElement>): HTMLElement {
  const headingId = `app-${app.name}`;
  return h(
    "section",
    { class: "app", "aria-labelledby": headingId, "data-app": app.name },
    h(
      "h2",
      { id: headingId },
      app.name,
      " ",
      h("span", { class: `state state-${app.state}` }, app.state),
    ),
    h(
      "p",
      { class: "app-meta" },
      "Version ",
      h("span", { class: "mono", title: app.version }, shortVersion(app.version)),
      ` · deploy #${app.deployCount}, `,
      h("time", { datetime: iso(app.deployedAt) }, time(app.deployedAt)),
      " · ",
      h("a", { href: `/ui/calls?app=${encodeURIComponent(app.name)}` }, "Calls"),
      " · ",
      h("a", { href: `/ui/logs/${encodeURIComponent(app.name)}` }, "Logs"),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "functions" },
        h("caption", { class: "visually-hidden" }, `Functions of ${app.name}`),
        h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column)))),
        h(
          "tbody",
          {},
          app.functions.map((fn) => {
            const cell = h("td", { class: "num" }, String(fn.executors));
            executorCells.set(`${app.version}/${fn.name}`, cell);
            return functionRow(fn, cell);
          }),
        ),
      ),
    ),
  );
}

function functionRow(fn: FunctionView, executorsCell: HTMLTableCellElement): HTMLTableRowElement {
  return h(
    "tr",
    { "data-function": fn.name },
    h(
      "th",
      { scope: "row" },
      fn.name,
      fn.kind !== "function" && h("span", { class: "muted" }, ` (${fn.kind})`),
    ),
    h("td", {}, permissions(fn)),
    h(
      "td",
      {},
      list([
        `timeout ${fn.timeoutMs ? duration(fn.timeoutMs) : "server default"}`,
        `memory ${fn.memoryMb ? `${fn.memoryMb} MB` : "server default"}`,
      ]),
    ),
    h(
      "td",
      {},
      list([
        `workers ${fn.minWorkers}–${fn.maxWorkers || "server limit"}`,
        `scale-down ${fn.scaledownMs ? duration(fn.scaledownMs) : "server default"}`,
        `${fn.maxInputs} input${fn.maxInputs === 1 ? "" : "s"} at once per executor`,
      ]),
    ),
    h("td", {}, fn.maxRetries ? `up to ${fn.maxRetries}` : "none"),
    h(
      "td",
      {},
      fn.schedule
        ? [
          fn.schedule.text,
          fn.schedule.nextAt !== undefined && [
            h("br"),
            h("span", { class: "muted" }, "next "),
            h("time", { datetime: iso(fn.schedule.nextAt) }, time(fn.schedule.nextAt)),
          ],
        ]
        : "–",
    ),
    h(
      "td",
      {},
      fn.web ? [h("code", {}, fn.web.method), " ", h("code", { class: "url" }, fn.web.url)] : "–",
    ),
    executorsCell,
  );
}

function permissions(fn: FunctionView): Child {
  const entries: string[] = [];
  for (const kind of ["read", "write", "net", "env"] as const) {
    if (fn.permissions[kind].length > 0) entries.push(`${kind}: ${fn.permissions[kind].join(", ")}`);
  }
  if (fn.secrets.length > 0) entries.push(`secrets: ${fn.secrets.join(", ")}`);
  return entries.length > 0 ? list(entries) : h("span", { class: "muted" }, "none");
}

function list(items: string[]): HTMLUListElement {
  return h("ul", { class: "plain" }, items.map((item) => h("li", {}, item)));
}

function states(executors: ExecutorView[]): string {
  const counts = new Map<string, number>();
  for (const executor of executors) counts.set(executor.state, (counts.get(executor.state) ?? 0) + 1);
  return [...counts].map(([state, count]) => `${count} ${state}`).join(", ");
}
