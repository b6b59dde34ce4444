/** Reads which CPUs a process's threads may run on, with util-linux's `taskset`. */

/**
 * The CPU mask (as taskset prints it, hexadecimal) of each thread of `pid`, or of its main
 * thread only when `threads` is false.
 *
 * @example
 * ```ts
 * const masks = await cpuMasks(executorPid); // ["1", "1", "1", "1"]
 * ```
 */
export async function cpuMasks(pid: number, threads = true): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command("taskset", {
    args: threads ? ["-a", "-p", String(pid)] : ["-p", String(pid)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`taskset -p ${pid} failed: ${new TextDecoder().decode(stderr)}`);
  return [...text.matchAll(/current affinity mask: ([0-9a-f,]+)/g)].map((match) => match[1]);
}

/** How many CPUs a mask allows. */
export function cpuCount(mask: string): number {
  let count = 0;
  for (const digit of mask.replaceAll(",", "")) {
    for (let bits = parseInt(digit, 16); bits > 0; bits >>= 1) count += bits & 1;
  }
  return count;
}
