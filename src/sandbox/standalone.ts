/**
 * Whether this process is a binary built by `deno compile` (`deno task compile`), and the
 * executor mode such a server binary runs its executors in: `stupid-modal-server executor <init>`.
 */

/**
 * True in a binary built by `deno compile`: its runtime flags and permissions were fixed when it
 * was built, its own modules live in an embedded file system, and `Deno.execPath()` is the binary.
 *
 * @example
 * ```ts
 * const program = standalone ? Deno.execPath() : "deno";
 * ```
 */
export const standalone: boolean = Deno.build.standalone === true;

/**
 * The first argument that makes a compiled server binary run as an executor instead of a server;
 * the executor's init (JSON) follows it.
 *
 * @example
 * ```ts
 * const args = [executorMode, JSON.stringify(init)];
 * ```
 */
export const executorMode = "executor";

/**
 * Runs this process as an executor, the way `deno run … src/sandbox/executor_main.ts <init>` does
 * in development, and never returns: the executor exits when the server closes its socket. A
 * compiled binary keeps the permissions it was built with (the server's), so the ones an executor
 * never needs, and its functions may never have, are dropped first.
 *
 * @example
 * ```ts
 * if (Deno.args[0] === executorMode) await runExecutor();
 * ```
 */
export async function runExecutor(): Promise<never> {
  for (const name of ["run", "sys", "ffi"] as const) Deno.permissions.revokeSync({ name });
  await import("./executor_main.ts");
  // executor_main.ts ends the process itself; this is only reached if it stopped doing so.
  Deno.exit(0);
}
