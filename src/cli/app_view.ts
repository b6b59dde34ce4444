/** How deployed apps and their functions are shown: as text for people, as JSON for scripts. */
import type { AppInfo, FunctionSpec } from "../wire/proto.ts";
import { isoTime, shortVersion } from "./text_output.ts";

/** A function as `--json` output shows it. Zero limits mean the server's defaults. */
export interface FunctionView {
  name: string;
  kind: "function" | "generator" | "class";
  permissions: { read: string[]; write: string[]; net: string[]; env: string[] };
  timeout_ms: number;
  memory_mb: number;
  min_workers: number;
  max_workers: number;
  max_inputs: number;
  scaledown_window_ms: number;
  retries: { max_retries: number; initial_delay_ms: number; backoff_coefficient: number; max_delay_ms: number };
  secrets: string[];
  schedule: { cron: string } | { every_ms: number } | null;
  web: { method: string; url: string | null } | null;
}

/** An app as `--json` output shows it. */
export interface AppView {
  name: string;
  state: "deployed" | "stopped";
  version: string;
  deployed_at: string;
  deploy_count: number;
  functions: FunctionView[];
}

/**
 * Where web endpoints are reached: the server's host (from its address) and its web port;
 * null when the server serves no web port.
 *
 * @example
 * ```ts
 * webBase("127.0.0.1:50051", 8080); // "http://127.0.0.1:8080"
 * ```
 */
export function webBase(server: string, webPort: number): string | null {
  if (!webPort) return null;
  const host = server.replace(/:\d+$/, "");
  return `http://${host}:${webPort}`;
}

/**
 * An app for `--json` output.
 *
 * @example
 * ```ts
 * const view = appView(info, webBase(client.settings.server, response.web_port));
 * ```
 */
export function appView(app: AppInfo, web: string | null): AppView {
  return {
    name: app.name,
    state: app.state === 1 ? "stopped" : "deployed",
    version: app.version,
    deployed_at: isoTime(app.deployed_at_ms),
    deploy_count: app.deploy_count,
    functions: app.functions.map((fn) => functionView(app.name, fn, web)),
  };
}

/** A function for `--json` output; `web` is the server's web base URL, if it serves one. */
export function functionView(appName: string, fn: FunctionSpec, web: string | null): FunctionView {
  return {
    name: fn.name,
    kind: fn.is_class ? "class" : fn.is_generator ? "generator" : "function",
    permissions: {
      read: fn.permissions?.read ?? [],
      write: fn.permissions?.write ?? [],
      net: fn.permissions?.net ?? [],
      env: fn.permissions?.env ?? [],
    },
    timeout_ms: fn.timeout_ms,
    memory_mb: fn.memory_mb,
    min_workers: fn.min_workers ?? 0,
    max_workers: fn.max_workers ?? 0,
    max_inputs: fn.max_inputs ?? 0,
    scaledown_window_ms: fn.scaledown_window_ms ?? 0,
    retries: {
      max_retries: fn.max_retries ?? 0,
      initial_delay_ms: fn.retry_initial_delay_ms ?? 0,
      backoff_coefficient: fn.retry_backoff_coefficient ?? 0,
      max_delay_ms: fn.retry_max_delay_ms ?? 0,
    },
    secrets: fn.secrets ?? [],
    schedule: fn.schedule ? (fn.schedule.cron ? { cron: fn.schedule.cron } : { every_ms: fn.schedule.every_ms }) : null,
    web: fn.web ? { method: fn.web.method || "POST", url: web && `${web}/apps/${appName}/${fn.name}` } : null,
  };
}

/**
 * The schedule of a function in words.
 *
 * @example
 * ```ts
 * scheduleText({ every_ms: 60000 }); // "every 60000 ms"
 * ```
 */
export function scheduleText(schedule: NonNullable<FunctionView["schedule"]>): string {
  return "cron" in schedule ? `cron "${schedule.cron}" (UTC)` : `every ${schedule.every_ms} ms`;
}

/**
 * The web endpoint of a function in words.
 *
 * @example
 * ```ts
 * webText({ method: "POST", url: null }); // "POST (the server serves no web port)"
 * ```
 */
export function webText(web: NonNullable<FunctionView["web"]>): string {
  return `${web.method} ${web.url ?? "(the server serves no web port)"}`;
}

/**
 * One app in detail: its state, version, and each function's permissions, limits, pool settings,
 * retries, secrets, schedule and web endpoint.
 *
 * @example
 * ```ts
 * console.log(appDetailText(appView(info, null)));
 * ```
 */
export function appDetailText(app: AppView): string {
  const lines = [
    `app:       ${app.name}`,
    `state:     ${app.state}`,
    `version:   ${shortVersion(app.version)} (${app.version})`,
    `deployed:  ${app.deployed_at} (deploy #${app.deploy_count})`,
    `functions:`,
  ];
  for (const fn of app.functions) {
    lines.push(`  ${fn.name} (${fn.kind})`);
    const granted = Object.entries(fn.permissions).filter(([, list]) => list.length > 0);
    lines.push(
      `    permissions: ${
        granted.length === 0 ? "none" : granted.map(([kind, list]) => `${kind}=${list.join(",")}`).join(" ")
      }`,
    );
    lines.push(
      `    limits:      timeout ${orDefault(fn.timeout_ms, " ms")}, memory ${orDefault(fn.memory_mb, " MB")}`,
    );
    lines.push(
      `    pool:        min ${fn.min_workers}, max ${orDefault(fn.max_workers)}, inputs per executor ` +
        `${fn.max_inputs || 1}, scale-down after ${orDefault(fn.scaledown_window_ms, " ms")} idle`,
    );
    if (fn.retries.max_retries > 0) {
      const r = fn.retries;
      lines.push(
        `    retries:     ${r.max_retries} (first after ${r.initial_delay_ms} ms, ×${r.backoff_coefficient}, ` +
          `at most ${r.max_delay_ms} ms)`,
      );
    }
    if (fn.secrets.length > 0) lines.push(`    secrets:     ${fn.secrets.join(", ")}`);
    if (fn.schedule) lines.push(`    schedule:    ${scheduleText(fn.schedule)}`);
    if (fn.web) lines.push(`    web:         ${webText(fn.web)}`);
  }
  return lines.join("\n");
}

function orDefault(value: number, unit = ""): string {
  return value ? `${value}${unit}` : "server default";
}
