/**
 * Executors' resident memory, read with `ps` (the server may run programs; Deno 2.9 lets it read
 * /proc only with --allow-all).
 */

/**
 * Resident set size in bytes of each of `pids` that `ps` could see; an empty map when there are
 * none or `ps` cannot run.
 *
 * @example
 * ```ts
 * const rss = await residentMemory([1234]);
 * rss.get(1234); // 29_360_128
 * ```
 */
export async function residentMemory(pids: number[]): Promise<Map<number, number>> {
  const memory = new Map<number, number>();
  if (pids.length === 0) return memory;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("ps", {
      args: ["-o", "pid=,rss=", "-p", pids.join(",")],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
  } catch {
    return memory;
  }
  // ps exits 1 when some pid is gone; what it printed for the others still holds.
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const [pid, kib] = line.trim().split(/\s+/).map(Number);
    if (Number.isInteger(pid) && Number.isFinite(kib)) memory.set(pid, kib * 1024);
  }
  return memory;
}
