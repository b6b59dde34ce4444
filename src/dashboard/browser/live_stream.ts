/**
 * A page's live connection: one EventSource on `/api/events`, the status line in the header
 * ("Live", "Reconnecting…"), and the way back to the login when the session is over.
 */
import type { Snapshot, Topic } from "../dashboard_types.ts";

/** What a page does with each event; `snapshot` comes first, and again after each reconnection. */
export interface StreamHandlers {
  snapshot(snapshot: Snapshot): void;
  [event: string]: (data: never) => void;
}

/** What a page asks for. */
export interface StreamRequest {
  topics: Topic[];
  app?: string;
  call?: string;
  /** Only calls as they enter this phase. */
  phase?: string;
}

/**
 * Opens the page's stream. The browser reconnects by itself after a dropped connection; when the
 * server refuses the stream (the session ended), the page goes to the login.
 *
 * @example
 * ```ts
 * connect({ topics: ["calls"] }, { snapshot: (s) => render(s.calls), calls: (batch) => merge(batch) });
 * ```
 */
export function connect(request: StreamRequest, handlers: StreamHandlers): void {
  const query = new URLSearchParams({ topics: request.topics.join(",") });
  if (request.app) query.set("app", request.app);
  if (request.call) query.set("call", request.call);
  if (request.phase) query.set("phase", request.phase);
  const url = `/api/events?${query}`;
  const status = document.getElementById("live-status");
  const say = (text: string, state: string) => {
    if (!status) return;
    if (status.textContent !== text) status.textContent = text;
    status.dataset.state = state;
  };

  const open = () => {
    const source = new EventSource(url);
    for (const event of Object.keys(handlers)) {
      source.addEventListener(event, (message) => {
        const data = JSON.parse((message as MessageEvent<string>).data);
        if (event === "snapshot") say("Live", "live");
        (handlers[event] as (data: unknown) => void)(data);
      });
    }
    source.addEventListener("end", () => {
      source.close();
      toLogin();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) {
        say("Reconnecting…", "reconnecting");
        return;
      }
      // Closed for good: refused (logged out?) or the server answered with an error.
      say("Disconnected", "closed");
      fetch("/api/me", { credentials: "same-origin" }).then((answer) => {
        if (answer.status === 401) toLogin();
        else setTimeout(open, 3000);
      }, () => setTimeout(open, 3000));
    });
  };
  open();
}

/** To the login, coming back here afterwards. */
export function toLogin(): void {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}
