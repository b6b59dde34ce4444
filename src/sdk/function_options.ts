/** What a function declares about itself: its name, sandbox permissions and limits. */

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
}
