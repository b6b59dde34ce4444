/**
 * The dashboard on the web port: the login, the pages (`/`, `/ui/…`), their assets and the JSON
 * API with its live event stream (`/api/…`). Every page but the login, and every API route, needs
 * a session (or a bearer token, for the API).
 */
import type { AppLogs } from "../server/app_logs.ts";
import type { AppStore } from "../server/app_store.ts";
import type { CallMonitor } from "../server/call_monitor.ts";
import type { ExecutorEntry } from "../server/scheduler.ts";
import type { WebRouter } from "../server/web_router.ts";
import { assetsVersion, serveAsset } from "./dashboard_assets.ts";
import { type CallFilter, DashboardData } from "./dashboard_data.ts";
import { serveEvents } from "./dashboard_events.ts";
import { DashboardLogin, type Visitor } from "./dashboard_login.ts";
import { htmlResponse, jsonError, jsonResponse, methodNotAllowed, redirect } from "./dashboard_responses.ts";
import { DashboardSessions } from "./dashboard_sessions.ts";
import type { CallPhase, MeView } from "./dashboard_types.ts";
import type { KeptCall } from "./dashboard_views.ts";
import { LiveFeed } from "./live_feed.ts";
import { type PageName, pageShell } from "./page_shell.ts";
import type { IdentifyToken } from "./token_identity.ts";

/** What the dashboard needs from the server. */
export interface DashboardOptions {
  /** Whom a token stands for (see token_identity.ts). */
  identify: IdentifyToken;
  monitor: CallMonitor;
  store: AppStore;
  scheduler: { executors(): ExecutorEntry[] };
  appLogs: AppLogs;
  /** The spawned calls: their rows and outcomes, for results and calls the monitor has let go. */
  spawned: { get(id: string): KeptCall };
  /** Ends live streams and the feed's sampling (the web server is closing). */
  closing: AbortSignal;
  /** Session table (default: a new one, eight-hour sessions). */
  sessions?: DashboardSessions;
  /** The server's log, for the dashboard's own failures (default: stderr). */
  log?: (line: string) => void;
}

const phases: readonly string[] = ["queued", "running", "succeeded", "failed", "cancelled", "active"];

/**
 * Adds the dashboard's routes to the web port's router.
 *
 * @example
 * ```ts
 * mountDashboard(router, { identify: tokenIdentity(auth), monitor, store, scheduler, appLogs, spawned, closing });
 * ```
 */
export function mountDashboard(router: WebRouter, options: DashboardOptions): void {
  const { monitor, store, scheduler, appLogs, closing } = options;
  const sessions = options.sessions ?? new DashboardSessions();
  const login = new DashboardLogin(options.identify, sessions, assetsVersion);
  const feed = new LiveFeed({
    monitor,
    executors: () => scheduler.executors(),
    onDeploymentChange: (listener) => store.onDeploymentChange(listener),
    closing,
    log: options.log,
  });
  const data = new DashboardData({
    monitor,
    store,
    executors: () => scheduler.executors(),
    appLogs,
    spawnedCall: (id) => options.spawned.get(id),
    feed,
  });

  /** A page for a logged-in browser; others go to the login, and come back here after it. */
  const page =
    (name: PageName, param?: (params: Record<string, string>) => string) =>
    (request: Request, params: Record<string, string>) => {
      if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed(request, ["GET", "HEAD"]);
      const visitor = login.visitor(request);
      if (!visitor) {
        const url = new URL(request.url);
        return redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`);
      }
      const html = pageShell({ page: name, param: param?.(params), identity: visitor.identity, assetsVersion });
      return htmlResponse(html, name === "missing" ? 404 : 200);
    };

  /** An API route for a logged-in browser or a bearer token; GET only. */
  const api =
    (handler: (request: Request, params: Record<string, string>, visitor: Visitor) => Response) =>
    (request: Request, params: Record<string, string>) => {
      if (request.method !== "GET") return methodNotAllowed(request, ["GET"]);
      const visitor = login.visitor(request);
      if (!visitor) {
        return jsonError(401, "UNAUTHENTICATED", "log in at /login, or send `Authorization: Bearer <token>`", {
          "www-authenticate": 'Bearer realm="stupid-modal"',
        });
      }
      return handler(request, params, visitor);
    };

  router
    .route("/", page("overview"))
    .route("/login", (request, _params, client) => login.serveLogin(request, client.address))
    .route("/logout", (request) => login.serveLogout(request))
    .route("/ui/assets/:file", (request, { file }) => serveAsset(request, file))
    .route("/ui/apps", page("apps"))
    .route("/ui/calls", page("calls"))
    .route("/ui/calls/:id", page("call", ({ id }) => id))
    .route("/ui/executors", page("executors"))
    .route("/ui/logs", page("logs"))
    .route("/ui/logs/:app", page("logs", ({ app }) => app))
    .route("/ui/*", page("missing"))
    .route(
      "/api/me",
      api((_request, _params, { identity }) =>
        jsonResponse({ name: identity.name, scopes: identity.scopes } as MeView)
      ),
    )
    .route("/api/apps", api((request) => jsonResponse({ apps: data.apps(new URL(request.url).origin) })))
    .route("/api/calls", api((request) => callsAnswer(data, new URL(request.url).searchParams)))
    .route(
      "/api/calls/:id",
      api((_request, { id }) => {
        const call = data.call(id);
        return call ? jsonResponse(call) : jsonError(404, "NOT_FOUND", `the server no longer knows a call ${id}`);
      }),
    )
    .route("/api/executors", api(() => jsonResponse({ now: Date.now(), executors: data.executors() })))
    .route(
      "/api/stats",
      api((request) => {
        const seconds = Number(new URL(request.url).searchParams.get("seconds") ?? 300);
        if (!Number.isInteger(seconds)) return jsonError(400, "INVALID_ARGUMENT", "seconds is a whole number");
        return jsonResponse({ now: Date.now(), points: data.stats(seconds), counts: data.counts() });
      }),
    )
    .route(
      "/api/apps/:app/logs",
      api((request, { app }) => {
        const query = new URL(request.url).searchParams;
        const tail = Number(query.get("tail") ?? 200);
        if (!Number.isInteger(tail) || tail < 1) return jsonError(400, "INVALID_ARGUMENT", "tail is a whole number");
        return jsonResponse({ lines: data.logs(app, tail, query.get("call") ?? undefined) });
      }),
    )
    .route(
      "/api/events",
      api((request, _params, visitor) => serveEvents(request, { data, feed, appLogs, closing }, visitor.stillValid)),
    );
}

/** `/api/calls?app=&function=&phase=&trigger=&caller=&q=&limit=`. */
function callsAnswer(data: DashboardData, query: URLSearchParams): Response {
  const phase = query.get("phase") || undefined;
  if (phase && !phases.includes(phase)) {
    return jsonError(400, "INVALID_ARGUMENT", `phase is one of ${phases.join(", ")}`);
  }
  const limit = Number(query.get("limit") ?? 500);
  if (!Number.isInteger(limit) || limit < 1) return jsonError(400, "INVALID_ARGUMENT", "limit is a whole number");
  const filter: CallFilter = {
    app: query.get("app") || undefined,
    function: query.get("function") || undefined,
    phase: phase as CallPhase | "active" | undefined,
    trigger: query.get("trigger") || undefined,
    caller: query.get("caller") || undefined,
    text: query.get("q") || undefined,
    limit,
  };
  return jsonResponse({ calls: data.calls(filter) });
}
