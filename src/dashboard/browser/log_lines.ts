/** Log lines as list items: time, function, the call (linked), and the text; stderr and the server's own lines marked. */
import type { LogView } from "../dashboard_types.ts";
import { h } from "./dom.ts";
import { iso, time } from "./format.ts";

/**
 * One line's item; `withCall` adds the function and a link to the call.
 *
 * @example
 * ```ts
 * list.append(...lines.map((line) => logLine(line, true)));
 * ```
 */
export function logLine(line: LogView, withCall: boolean): HTMLLIElement {
  const classes = ["log-line", `stream-${line.stream}`, line.server ? "from-server" : ""].filter(Boolean).join(" ");
  return h(
    "li",
    { class: classes, "data-call-id": line.callId },
    h("time", { datetime: iso(line.time) }, time(line.time)),
    withCall && h("span", { class: "log-fn" }, line.function || "–"),
    withCall &&
      (line.callId
        ? h("a", { class: "log-call mono", href: `/ui/calls/${encodeURIComponent(line.callId)}` }, line.callId)
        : h("span", { class: "log-call" }, "")),
    line.stream === "stderr" && h("span", { class: "visually-hidden" }, "stderr: "),
    h("span", { class: "log-text" }, line.text),
  );
}
