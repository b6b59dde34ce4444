/** Table rows of calls, kept per call and rebuilt only when the call changes; running times tick. */
import type { CallView } from "../dashboard_types.ts";
import { h } from "./dom.ts";
import { duration, iso, time } from "./format.ts";

/** The columns, in order, for the table's head. */
export const callColumns = [
  "State",
  "Call",
  "App",
  "Function",
  "Trigger",
  "Caller",
  "Queued",
  "Duration",
  "Attempt",
  "Executor",
  "Error",
];

interface Row {
  key: string;
  tr: HTMLTableRowElement;
  durationCell: HTMLTableCellElement;
  call: CallView;
}

/**
 * A cache of rows by call id.
 *
 * @example
 * ```ts
 * const rows = new CallRows(() => Date.now());
 * tbody.replaceChildren(...calls.map((call) => rows.row(call)));
 * setInterval(() => rows.tick(), 1000);
 * ```
 */
export class CallRows {
  #rows = new Map<string, Row>();
  #now: () => number;

  /** `now` is the server's clock, as well as the page knows it. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** The call's row, rebuilt if the call changed. */
  row(call: CallView): HTMLTableRowElement {
    const key = `${call.phase}|${call.attempts}|${call.pid}|${call.finishedAt}|${call.startedAt}|${call.caller}`;
    const kept = this.#rows.get(call.id);
    if (kept?.key === key) return kept.tr;
    const durationCell = h("td", { class: "num" }, callDuration(call, this.#now()));
    const tr = h(
      "tr",
      { "data-call-id": call.id, "data-phase": call.phase },
      h("td", {}, phaseBadge(call.phase)),
      h("td", { class: "mono" }, h("a", { href: `/ui/calls/${encodeURIComponent(call.id)}` }, call.id)),
      h("td", {}, call.app),
      h("td", {}, call.function),
      h("td", {}, call.trigger),
      h("td", {}, call.caller || h("span", { class: "muted", title: "the server did not record a token name" }, "–")),
      h("td", {}, h("time", { datetime: iso(call.queuedAt) }, time(call.queuedAt))),
      durationCell,
      h("td", { class: "num" }, call.attempts || "–"),
      h("td", { class: "num mono" }, call.pid ?? "–"),
      h("td", { class: "error-cell" }, call.error ? `${call.error.code}: ${call.error.message}` : ""),
    );
    this.#rows.set(call.id, { key, tr, durationCell, call });
    return tr;
  }

  /** Updates the running and waiting times. */
  tick(): void {
    const now = this.#now();
    for (const { call, durationCell } of this.#rows.values()) {
      if (call.finishedAt === undefined) durationCell.textContent = callDuration(call, now);
    }
  }

  /** Forgets rows of calls no longer shown. */
  keepOnly(ids: Set<string>): void {
    for (const id of this.#rows.keys()) if (!ids.has(id)) this.#rows.delete(id);
  }
}

/**
 * A call's state as a badge.
 *
 * @example
 * ```ts
 * phaseBadge("failed"); // <span class="phase phase-failed">failed</span>
 * ```
 */
export function phaseBadge(phase: string): HTMLSpanElement {
  return h("span", { class: `phase phase-${phase}` }, phase);
}

/**
 * How long a call took, or has run or waited so far.
 *
 * @example
 * ```ts
 * callDuration(call, Date.now()); // "12.3 ms", "running 2.00 s", "waiting 40.0 ms"
 * ```
 */
export function callDuration(call: CallView, now: number): string {
  if (call.finishedAt !== undefined) return duration(call.finishedAt - call.queuedAt);
  if (call.startedAt !== undefined) return `running ${duration(now - call.startedAt)}`;
  return `waiting ${duration(now - call.queuedAt)}`;
}
