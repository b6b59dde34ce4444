/**
 * Which CPUs a process's threads may run on, through Linux's sched_setaffinity (libc, by FFI).
 * Unavailable (undefined from `openCpuAffinity`) off Linux, without libc, or without FFI
 * permission: callers then simply leave placement to the kernel.
 */

const libcSymbols = {
  sched_getcpu: { parameters: [], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
} as const;

/** Where a name starts in glibc's struct dirent on 64-bit Linux (after d_ino, d_off, d_reclen, d_type). */
const direntNameOffset = 19;

/** Bytes of a CPU mask: room for 1024 CPUs, as glibc's cpu_set_t. */
const maskBytes = 128;
const maskSize = BigInt(maskBytes);

/** Thread placement of this process and its children. */
export interface CpuAffinity {
  /** The CPU this thread runs on now. */
  currentCpu(): number;
  /** Lets every thread of process `pid` run only on `cpu`; false if the process is gone. */
  pin(pid: number, cpu: number): boolean;
  /** Lets every thread of process `pid` run on any CPU this server may use; false if it is gone. */
  unpin(pid: number): boolean;
  /** Lets the calling thread run only on `cpu`; false if it could not. */
  pinSelf(cpu: number): boolean;
}

/**
 * Opens libc's scheduling calls, or returns undefined where they cannot be had.
 *
 * @example
 * ```ts
 * const affinity = openCpuAffinity();
 * affinity?.pin(executorPid, affinity.currentCpu());
 * ```
 */
export function openCpuAffinity(): CpuAffinity | undefined {
  if (Deno.build.os !== "linux") return undefined;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  let libc: Deno.DynamicLibrary<typeof libcSymbols>;
  try {
    libc = Deno.dlopen("libc.so.6", libcSymbols);
  } catch {
    return undefined;
  }
  const allowed = new Uint8Array(maskBytes);
  if (libc.symbols.sched_getaffinity(0, maskSize, allowed) !== 0) return undefined;
  const one = new Uint8Array(maskBytes);
  // Deno lets only --allow-all read /proc/<pid>, so a process's threads are listed through libc.
  const threadsOf = (pid: number): number[] => {
    const dir = libc.symbols.opendir(new TextEncoder().encode(`/proc/${pid}/task\0`));
    if (dir === null) return [];
    const threads: number[] = [];
    for (let entry = libc.symbols.readdir(dir); entry !== null; entry = libc.symbols.readdir(dir)) {
      const name = new Deno.UnsafePointerView(entry).getCString(direntNameOffset);
      if (/^\d+$/.test(name)) threads.push(Number(name));
    }
    libc.symbols.closedir(dir);
    return threads;
  };
  const setAll = (pid: number, mask: Uint8Array): boolean => {
    // A thread that ended meanwhile fails alone; the process is placed if any thread was.
    let placed = false;
    for (const tid of threadsOf(pid)) placed = libc.symbols.sched_setaffinity(tid, maskSize, mask) === 0 || placed;
    return placed;
  };
  const only = (cpu: number): Uint8Array => {
    one.fill(0);
    one[cpu >> 3] = 1 << (cpu & 7);
    return one;
  };
  return {
    currentCpu: () => libc.symbols.sched_getcpu(),
    pin: (pid, cpu) => setAll(pid, only(cpu)),
    unpin: (pid) => setAll(pid, allowed),
    pinSelf: (cpu) => libc.symbols.sched_setaffinity(0, maskSize, only(cpu)) === 0,
  };
}
