/**
 * A `deno run` child that prints "listening on HOST:PORT" once it serves (our server, the B1 echo
 * server): started with its output going to a file, as an operator's log file would take it (so
 * that no process of the benchmark, which is also the measured caller, reads a line per call),
 * and stopped for sure.
 */

/** A started child process that is listening. */
export interface ListeningProcess {
  /** host:port from its "listening on" line. */
  address: string;
  pid: number;
  /** The last lines it printed, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** What to run. */
export interface ListeningOptions {
  /** Arguments after `deno run`: flags, the script, then its own arguments. */
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** Where its stdout and stderr go. */
  outputFile: string;
  /** How long to wait for the "listening on" line. */
  startTimeoutMs?: number;
}

const maxTailLines = 40;
/** How often the output file is looked at while waiting for the "listening on" line. */
const pollMs = 10;

/**
 * Spawns the process and resolves once it prints its "listening on" line; kills it if it does not.
 *
 * @example
 * ```ts
 * const echo = await startListening({
 *   args: ["--allow-net", "--allow-env", "bench/baseline_echo_server.ts"],
 *   cwd: ".",
 *   outputFile: "/tmp/echo.log",
 * });
 * await echo.stop();
 * ```
 */
export async function startListening(options: ListeningOptions): Promise<ListeningProcess> {
  // The shell only redirects the output and then becomes the process itself (same pid).
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$0" "$@" >"$BENCH_OUTPUT_FILE" 2>&1', Deno.execPath(), "run", ...options.args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env, BENCH_OUTPUT_FILE: options.outputFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const tail = () => {
    try {
      return Deno.readTextFileSync(options.outputFile).trimEnd().split("\n").slice(-maxTailLines).join("\n");
    } catch {
      return "(no output)";
    }
  };
  const stop = async (graceMs = 15_000) => {
    if (!exited) signal(child, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((done) => timer = setTimeout(done, graceMs));
    await Promise.race([status, late]);
    clearTimeout(timer);
    if (!exited) signal(child, "SIGKILL");
    await status;
  };
  const deadline = performance.now() + (options.startTimeoutMs ?? 60_000);
  try {
    while (true) {
      const text = await Deno.readTextFile(options.outputFile).catch(() => "");
      const match = /^listening on (\S+)/m.exec(text);
      if (match) return { address: match[1], pid: child.pid, tail, stop };
      if (exited) {
        throw new Error(`${options.args.join(" ")} exited with ${(await status).code} before listening:\n${tail()}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`${options.args.join(" ")} did not start listening:\n${tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } catch (err) {
    await stop(2_000);
    throw err;
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // It exited meanwhile.
  }
}
