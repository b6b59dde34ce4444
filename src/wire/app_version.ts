/** The content hash that names an app version (see RegisterAppRequest.version in the proto). */
import type { FunctionSpec, SourceFile } from "./proto.ts";

/** Lowercase hex SHA-256 of the app's name, files and function specs, independent of their order. */
export async function appVersion(appName: string, files: SourceFile[], functions: FunctionSpec[]): Promise<string> {
  const lines: string[] = [`app\0${appName}\n`];
  for (const file of [...files].sort((a, b) => compare(a.path, b.path))) {
    lines.push(`file\0${file.path}\0${await sha256Hex(file.content)}\n`);
  }
  for (const spec of [...functions].sort((a, b) => compare(a.name, b.name))) {
    const { read, write, net, env } = spec.permissions;
    const fields = [
      spec.name,
      spec.module,
      { read, write, net, env },
      spec.timeout_ms,
      spec.memory_mb,
      spec.min_workers ?? 0,
      spec.max_workers ?? 0,
      spec.scaledown_window_ms ?? 0,
      spec.max_retries ?? 0,
      spec.retry_initial_delay_ms ?? 0,
      spec.retry_backoff_coefficient ?? 0,
      spec.retry_max_delay_ms ?? 0,
      spec.is_class ?? false,
      spec.is_generator ?? false,
      spec.max_inputs ?? 0,
      spec.secrets ?? [],
      spec.schedule ? { cron: spec.schedule.cron, every_ms: spec.schedule.every_ms } : null,
      spec.web ? spec.web.method || "POST" : null,
    ];
    lines.push(`fn\0${JSON.stringify(fields)}\n`);
  }
  return await sha256Hex(new TextEncoder().encode(lines.join("")));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
