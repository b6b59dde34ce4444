/** Reads processes' resident memory and finds a server's executors, from Linux's /proc. */

/**
 * Resident set size of a process in MiB (VmRSS of /proc/PID/status).
 *
 * @example
 * ```ts
 * const mib = await residentMib(Deno.pid);
 * ```
 */
export async function residentMib(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/**
 * Pids of the executor processes a server process started: its children running executor_main.ts.
 *
 * @example
 * ```ts
 * const pids = await executorsOf(serverPid);
 * ```
 */
export async function executorsOf(serverPid: number): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = await Deno.readTextFile(`/proc/${entry.name}/status`);
      if (Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]) !== serverPid) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes("executor_main.ts")) found.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
