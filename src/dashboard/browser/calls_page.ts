/**
 * The calls page: running, queued and finished calls, live, filterable by state, app, function,
 * trigger and text (the filter lives in the address, so a filtered view can be shared).
 */
import type { CallView, Snapshot } from "../dashboard_types.ts";
import { fill, h } from "./dom.ts";
import { callColumns, CallRows } from "./call_rows.ts";
import { connect } from "./live_stream.ts";
import { ServerClock } from "./server_clock.ts";

/** Calls the page holds at most. */
const keptCalls = 1_000;

const phaseOptions: [string, string][] = [
  ["", "any"],
  ["active", "queued or running"],
  ["queued", "queued"],
  ["running", "running"],
  ["succeeded", "succeeded"],
  ["failed", "failed"],
  ["cancelled", "cancelled"],
];
const triggerOptions = ["", "session", "invoke", "spawn", "map", "schedule", "web"];

/**
 * Fills `root` with the calls page and keeps it live.
 *
 * @example
 * ```ts
 * callsPage(document.getElementById("page")!);
 * ```
 */
export function callsPage(root: HTMLElement): void {
  const clock = new ServerClock();
  const rows = new CallRows(() => clock.now());
  const calls = new Map<string, CallView>();
  const query = new URLSearchParams(location.search);

  const phase = select("phase", phaseOptions, query.get("phase") ?? "");
  const app = select("app", [["", "any"]], query.get("app") ?? "");
  const fn = h("input", { name: "function", id: "filter-function", value: query.get("function") ?? "" });
  const trigger = select("trigger", triggerOptions.map((t) => [t, t || "any"]), query.get("trigger") ?? "");
  const text = h("input", {
    name: "q",
    id: "filter-q",
    type: "search",
    placeholder: "call id or error text",
    value: query.get("q") ?? "",
  });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter calls", onsubmit: (e: Event) => e.preventDefault() },
    labelled("State", phase),
    labelled("App", app),
    labelled("Function", fn),
    labelled("Trigger", trigger),
    labelled("Search", text),
  );
  const count = h("p", { class: "muted", id: "calls-count" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "calls", "aria-describedby": "calls-count" },
    h("caption", { class: "visually-hidden" }, "Calls, unfinished first, then newest first"),
    h("thead", {}, h("tr", {}, callColumns.map((column) => h("th", { scope: "col" }, column)))),
    tbody,
  );
  fill(root, form, count, h("div", { class: "table-wrap" }, table));

  let apps = new Set<string>();
  let pending = false;
  const render = () => {
    pending = false;
    const wanted = {
      phase: phase.value,
      app: app.value,
      function: fn.value.trim(),
      trigger: trigger.value,
      q: text.value.trim().toLowerCase(),
    };
    const shown = sorted([...calls.values()]).filter((call) => matches(call, wanted));
    const ids = new Set(shown.map((call) => call.id));
    rows.keepOnly(ids);
    tbody.replaceChildren(...shown.map((call) => rows.row(call)));
    if (shown.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: callColumns.length, class: "empty" }, "No calls match.")));
    }
    const summary = `${shown.length} of ${calls.size} calls shown`;
    if (count.textContent !== summary) count.textContent = summary;
    const seen = new Set([...calls.values()].map((call) => call.app));
    if ([...seen].some((name) => !apps.has(name))) {
      apps = new Set([...apps, ...seen]);
      const current = app.value;
      fill(app, h("option", { value: "" }, "any"), [...apps].sort().map((name) => h("option", { value: name }, name)));
      app.value = current;
    }
    root.setAttribute("aria-busy", "false");
  };
  const later = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(render);
  };
  // The address keeps the filter; a change re-renders at once.
  const filterChanged = () => {
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) next.set(name, String(value).trim());
    history.replaceState(null, "", next.size > 0 ? `?${next}` : location.pathname);
    later();
  };
  form.addEventListener("input", filterChanged);
  form.addEventListener("change", filterChanged);
  // An app in the address may not have been seen yet: offer it anyway.
  if (query.get("app")) {
    apps.add(query.get("app")!);
    app.append(h("option", { value: query.get("app")! }, query.get("app")!));
    app.value = query.get("app")!;
  }

  connect({ topics: ["calls"] }, {
    snapshot(snapshot: Snapshot) {
      clock.sync(snapshot.now);
      calls.clear();
      for (const call of snapshot.calls ?? []) calls.set(call.id, call);
      render();
    },
    calls(batch: { reset: boolean; calls: CallView[] }) {
      if (batch.reset) calls.clear();
      for (const call of batch.calls) calls.set(call.id, call);
      trim(calls);
      later();
    },
  });
  setInterval(() => rows.tick(), 1000);
}

/** Unfinished first (newest first), then finished, newest first. */
function sorted(calls: CallView[]): CallView[] {
  return calls.sort((a, b) => {
    const open = Number(b.finishedAt === undefined) - Number(a.finishedAt === undefined);
    return open !== 0 ? open : b.queuedAt - a.queuedAt || (a.id < b.id ? 1 : -1);
  });
}

function matches(
  call: CallView,
  wanted: { phase: string; app: string; function: string; trigger: string; q: string },
): boolean {
  if (wanted.phase === "active" ? call.finishedAt !== undefined : wanted.phase && call.phase !== wanted.phase) {
    return false;
  }
  if (wanted.app && call.app !== wanted.app) return false;
  if (wanted.function && !call.function.includes(wanted.function)) return false;
  if (wanted.trigger && call.trigger !== wanted.trigger) return false;
  if (wanted.q) {
    const haystack = `${call.id} ${call.error?.code ?? ""} ${call.error?.message ?? ""}`.toLowerCase();
    if (!haystack.includes(wanted.q)) return false;
  }
  return true;
}

/** Drops the oldest finished calls beyond the page's bound. */
function trim(calls: Map<string, CallView>): void {
  if (calls.size <= keptCalls) return;
  const finished = [...calls.values()].filter((call) => call.finishedAt !== undefined)
    .sort((a, b) => a.queuedAt - b.queuedAt);
  for (const call of finished.slice(0, calls.size - keptCalls)) calls.delete(call.id);
}

function select(name: string, options: [string, string][] | string[][], value: string): HTMLSelectElement {
  const element = h(
    "select",
    { name, id: `filter-${name}` },
    options.map(([optionValue, label]) => h("option", { value: optionValue }, label)),
  );
  element.value = value;
  return element;
}

function labelled(label: string, control: HTMLElement): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}
