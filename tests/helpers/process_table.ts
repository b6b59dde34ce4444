/**
 * Processes' resident memory and a server's executors, as `ps` reports them. Deno 2.9 lets no
 * script read anything under /proc without --allow-all, which neither `deno task test` nor `deno task bench` grants;
 * `ps` reads the same kernel counters (its RSS equals VmRSS of /proc/PID/status).
 */

/** One line of the process table. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Resident set size in MiB. */
  rssMib: number;
  /** The full command line. */
  args: string;
}

/**
 * Every process visible to this user.
 *
 * @example
 * ```ts
 * const mine = (await processTable()).find((p) => p.pid === Deno.pid);
 * ```
 */
export async function processTable(): Promise<ProcessInfo[]> {
  const output = await new Deno.Command("ps", {
    args: ["-e", "-o", "pid=,ppid=,rss=,args="],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(`ps failed: ${new TextDecoder().decode(output.stderr)}`);
  const processes: ProcessInfo[] = [];
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    processes.push({ pid: Number(match[1]), ppid: Number(match[2]), rssMib: Number(match[3]) / 1024, args: match[4] });
  }
  return processes;
}

/**
 * Resident set size of a live process in MiB.
 *
 * @example
 * ```ts
 * const mib = await residentMib(Deno.pid);
 * ```
 */
export async function residentMib(pid: number): Promise<number> {
  const found = (await processTable()).find((process) => process.pid === pid);
  if (!found) throw new Error(`process ${pid} is not running`);
  return found.rssMib;
}

/**
 * The executor processes a server process started: its children running executor_main.ts.
 *
 * @example
 * ```ts
 * const executors = await executorsOf(serverPid);
 * ```
 */
export async function executorsOf(serverPid: number): Promise<ProcessInfo[]> {
  return (await processTable()).filter((process) =>
    process.ppid === serverPid && process.args.includes("executor_main.ts")
  );
}

/**
 * Executor processes whose command line names `dataDir` (their app folders lie inside it),
 * whoever their parent is now: once the server is gone, any such process is a leftover.
 *
 * @example
 * ```ts
 * for (const { pid } of await executorsUsing(dataDir)) Deno.kill(pid, "SIGKILL");
 * ```
 */
export async function executorsUsing(dataDir: string): Promise<ProcessInfo[]> {
  return (await processTable()).filter((process) =>
    process.args.includes("executor_main.ts") && process.args.includes(dataDir)
  );
}
