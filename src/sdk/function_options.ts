/** What a function declares about itself: its name, sandbox permissions and limits. */
import { isSecretName } from "../wire/names.ts";

/**
 * The permissions a function asks for inside its sandbox. Each must be within the server's grants
 * (`--grant-read`, `--grant-write`, `--grant-net`, `--grant-env`); the default is none at all.
 *
 * @example
 * ```ts
 * const permissions: Permissions = { read: ["app/models"], net: ["api.example.com:443"] };
 * ```
 */
export interface Permissions {
  /** Paths the function may read, relative to the server's working directory or absolute. */
  read?: string[];
  /** Paths the function may write. */
  write?: string[];
  /** Hosts ("host" or "host:port") the function may connect to. */
  net?: string[];
  /** Environment variables the function may read (the server's values). */
  env?: string[];
}

/**
 * Options of `app.function(...)`.
 *
 * @example
 * ```ts
 * const options: FunctionOptions = { permissions: { read: ["app/models"] }, timeoutMs: 60_000 };
 * ```
 */
export interface FunctionOptions {
  /** The stable name the server knows the function by; defaults to the function's own name. */
  name?: string;
  /** Sandbox permissions; default none. */
  permissions?: Permissions;
  /** Per-call time limit, enforced even for a busy loop; default 300 000 ms. */
  timeoutMs?: number;
  /** Heap limit of the function's executor; default set by the server (`--default-memory-mb`). */
  memoryMb?: number;
  /** Executors kept warm even when idle (default 0). */
  minWorkers?: number;
  /** Executors running this function at once, at most; default set by the server. */
  maxWorkers?: number;
  /** Idle time before an executor stops; default set by the server (`--scaledown-ms`). */
  scaledownWindowMs?: number;
  /** Inputs one executor runs at once, for async functions that mostly wait on I/O (default 1). */
  maxInputs?: number;
  /** Further attempts for an input that throws, crashes its executor or times out (default 0). */
  retries?: number | RetryOptions;
  /**
   * Named secrets kept by the server (`cli secret set NAME KEY=VALUE`): their keys become
   * environment variables inside this function's sandbox, readable with `Deno.env.get`.
   */
  secrets?: string[];
  /** Runs the deployed function on a timetable: `{ cron: "*\/5 * * * *" }` (UTC) or `{ everyMs }`. */
  schedule?: ScheduleOptions;
  /**
   * Exposes the deployed function over HTTP on the server's web port, at `/apps/<app>/<function>`:
   * a JSON array of arguments in, the result's JSON out. `true` means POST.
   */
  web?: boolean | { method: "POST" | "GET" };
}

/**
 * A function's timetable.
 *
 * @example
 * ```ts
 * const hourly: ScheduleOptions = { cron: "0 * * * *" };
 * const often: ScheduleOptions = { everyMs: 30_000 };
 * ```
 */
export type ScheduleOptions = { cron: string } | { everyMs: number };

/**
 * How an input is retried. A bare number of retries waits 1 s, then twice as long each time, at
 * most 60 s.
 *
 * @example
 * ```ts
 * const retries: RetryOptions = { maxRetries: 3, initialDelayMs: 100, backoffCoefficient: 2, maxDelayMs: 1_000 };
 * ```
 */
export interface RetryOptions {
  maxRetries: number;
  initialDelayMs?: number;
  backoffCoefficient?: number;
  maxDelayMs?: number;
}

/** The retry policy a `retries` option stands for. */
export function retryPolicy(retries: FunctionOptions["retries"]): Required<RetryOptions> {
  const options = typeof retries === "number" ? { maxRetries: retries } : retries ?? { maxRetries: 0 };
  return {
    maxRetries: options.maxRetries,
    initialDelayMs: options.initialDelayMs ?? 1_000,
    backoffCoefficient: options.backoffCoefficient ?? 2,
    maxDelayMs: options.maxDelayMs ?? 60_000,
  };
}

/** Throws a TypeError naming the first option that is not a sensible whole number. */
export function checkFunctionOptions(name: string, options: FunctionOptions): void {
  const retries = retryPolicy(options.retries);
  const limits: [string, number | undefined, number][] = [
    ["timeoutMs", options.timeoutMs, 1],
    ["memoryMb", options.memoryMb, 1],
    ["minWorkers", options.minWorkers, 0],
    ["maxWorkers", options.maxWorkers, 1],
    ["scaledownWindowMs", options.scaledownWindowMs, 1],
    ["maxInputs", options.maxInputs, 1],
    ["retries", retries.maxRetries, 0],
    ["retries.initialDelayMs", retries.initialDelayMs, 0],
    ["retries.maxDelayMs", retries.maxDelayMs, 0],
  ];
  const schedule = options.schedule as { cron?: unknown; everyMs?: unknown } | undefined;
  if (schedule !== undefined && (typeof schedule.cron === "string") === (schedule.everyMs !== undefined)) {
    throw new TypeError(`schedule of "${name}" must have exactly one of cron and everyMs`);
  }
  if (schedule?.everyMs !== undefined) limits.push(["schedule.everyMs", schedule.everyMs as number, 1]);
  for (const [option, value, min] of limits) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > 2 ** 31 - 1)) {
      throw new TypeError(`${option} of "${name}" must be a whole number ≥ ${min}, got ${value}`);
    }
  }
  if (!(retries.backoffCoefficient >= 1 && retries.backoffCoefficient <= 100)) {
    throw new TypeError(`retries.backoffCoefficient of "${name}" must be between 1 and 100`);
  }
  for (const secret of options.secrets ?? []) {
    if (!isSecretName(secret)) throw new TypeError(`secret name "${secret}" of "${name}" is not a valid name`);
  }
  const method = typeof options.web === "object" ? options.web.method : "POST";
  if (method !== "POST" && method !== "GET") {
    throw new TypeError(`web.method of "${name}" must be "POST" or "GET", got ${method}`);
  }
  if (options.minWorkers !== undefined && options.maxWorkers !== undefined && options.minWorkers > options.maxWorkers) {
    throw new TypeError(
      `minWorkers of "${name}" (${options.minWorkers}) exceeds its maxWorkers (${options.maxWorkers})`,
    );
  }
}
