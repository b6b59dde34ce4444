/**
 * The audit log: every registration, deploy, stop, secret and token change with the token that
 * made it, and every invocation, counted per token, function and second (a map of a million inputs
 * is a few rows, not a million).
 */
import type { AuditEntry } from "../wire/proto.ts";
import type { AuditRecords } from "../store/audit_records.ts";

/** What an invocation entry counts. */
export type InvocationKind = "invoke" | "spawn" | "web" | "schedule";

/** Writes the audit log. */
export class AuditLog {
  #records: AuditRecords;
  #counts = new Map<string, AuditEntry>();
  #flusher: ReturnType<typeof setInterval>;
  #pruner: ReturnType<typeof setInterval>;

  constructor(records: AuditRecords) {
    this.#records = records;
    this.#flusher = setInterval(() => this.#flush(), 1_000);
    this.#pruner = setInterval(() => records.prune(), 60_000);
  }

  /** An operator's action, written at once. */
  record(token: string, action: string, appName: string, functionName = "", detail = ""): void {
    this.#records.append({
      time_ms: Date.now(),
      token,
      action,
      app_name: appName,
      function: functionName,
      count: 1,
      detail,
    });
  }

  /** `count` invocations of one function by one token, added to this second's entry. */
  invoked(token: string, kind: InvocationKind, appName: string, functionName: string, count = 1): void {
    const key = `${token}\0${kind}\0${appName}\0${functionName}`;
    const entry = this.#counts.get(key);
    if (entry) entry.count += count;
    else {
      this.#counts.set(key, {
        time_ms: Date.now(),
        token,
        action: kind,
        app_name: appName,
        function: functionName,
        count,
        detail: "",
      });
    }
  }

  /** The newest entries (invocations counted so far included), newest first. */
  latest(limit: number, token: string): AuditEntry[] {
    this.#flush();
    return this.#records.latest(limit, token);
  }

  /** Writes what is counted and stops the timers (at shutdown). */
  close(): void {
    this.#flush();
    clearInterval(this.#flusher);
    clearInterval(this.#pruner);
  }

  #flush(): void {
    for (const entry of this.#counts.values()) this.#records.append(entry);
    this.#counts.clear();
  }
}
