/**
 * The soak: a real server under a mixed load from many caller processes (tests/soak/soak_caller.ts)
 * for a bounded time. Callers come and go (each lives up to --caller-seconds), so connections churn
 * too. It checks that every input got exactly one outcome, the one its function gives (counted by
 * input id in each caller, and as the server's one line per call), that the server's and the
 * executors' memory and open files stay flat after a warm-up, and that no executor is orphaned or
 * left behind; then prints the figures.
 *
 * `deno task soak` (3 minutes), `deno task soak --seconds 600 --callers 8 --server-heap-mb 0`;
 * tests/soak_test.ts runs one minute.
 * Exits 1 when a check fails.
 */
import { parseArgs } from "node:util";
import { processTable } from "../helpers/process_table.ts";
import { accountedFor } from "../helpers/served_inputs.ts";
import { executorsOf, startTestServer, type TestServer } from "../helpers/test_server.ts";
import type { CallerReport } from "./soak_caller.ts";

const callerPath = new URL("./soak_caller.ts", import.meta.url).pathname;
const repoRoot = new URL("../../", import.meta.url).pathname;

/** How to run the soak. */
export interface SoakOptions {
  seconds: number;
  /** Caller processes at once. */
  callers: number;
  /** Operations in flight in each caller. */
  loops: number;
  /** Longest life of one caller process; a new one takes its place. */
  callerSeconds: number;
  seed: number;
  /**
   * The server's V8 heap cap in MB (0: V8's default). Without one, V8 lets the heap grow to
   * hundreds of MiB before collecting, which hides a leak in the noise; with one, a leak is a crash.
   */
  serverHeapMb: number;
  /** Where progress lines go. */
  log: (line: string) => void;
}

/** One look at the processes. */
interface Sample {
  at: number;
  serverRssMib: number;
  serverFds: number;
  executors: { pid: number; rssMib: number; fds: number }[];
  /** Executors of this server whose parent is not the server. */
  orphans: number;
}

/** What a soak found. */
export interface SoakResult {
  /** The printed figures. */
  lines: string[];
  /** Failed checks; empty when all passed. */
  failures: string[];
}

const serverFlags = [
  "--max-executors=12",
  "--max-executors-per-function=2",
  "--scaledown-ms=5000",
  "--default-memory-mb=256",
  "--grace-ms=5000",
];

/** Open file descriptors of a process, by listing /proc/PID/fd in a subprocess (Deno needs -A to read /proc itself). */
async function openFiles(pid: number): Promise<number | undefined> {
  const output = await new Deno.Command("ls", { args: [`/proc/${pid}/fd`], stdout: "piped", stderr: "null" }).output();
  if (!output.success) return undefined;
  return new TextDecoder().decode(output.stdout).split("\n").filter(Boolean).length;
}

async function sample(server: TestServer): Promise<Sample> {
  const table = await processTable();
  const serverPid = server.process.pid;
  const mine = table.filter((p) => p.args.includes("executor_main.ts") && p.args.includes(server.dataDir));
  const executors = [];
  for (const executor of mine) {
    const fds = await openFiles(executor.pid);
    if (fds !== undefined) executors.push({ pid: executor.pid, rssMib: executor.rssMib, fds });
  }
  return {
    at: Date.now(),
    serverRssMib: table.find((p) => p.pid === serverPid)?.rssMib ?? NaN,
    serverFds: await openFiles(serverPid) ?? NaN,
    executors,
    orphans: mine.filter((p) => p.ppid !== serverPid).length,
  };
}

/** Runs one caller process to its end; resolves with its report, or a failure. */
async function runCaller(
  server: TestServer,
  name: string,
  seconds: number,
  options: SoakOptions,
  seed: number,
): Promise<CallerReport | string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      callerPath,
      name,
      String(seconds),
      String(seed),
      String(options.loops),
    ],
    cwd: repoRoot,
    env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  const last = text(output.stdout).split("\n").at(-1) ?? "";
  if (!output.success || !last.startsWith("{")) {
    return `caller ${name} exited with ${output.code}: ${text(output.stderr).split("\n").slice(-5).join(" | ")}`;
  }
  return JSON.parse(last) as CallerReport;
}

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
};
const shown = (table: Record<string, number>) =>
  Object.entries(table).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key} ${value}`).join(", ");
const sum = (table: Record<string, number>) => Object.values(table).reduce((total, value) => total + value, 0);
const mib = (value: number) => `${value.toFixed(1)} MiB`;

/**
 * Runs the soak against a server of its own; resolves with the figures and the failed checks.
 *
 * @example
 * ```ts
 * const { lines, failures } = await soak({ seconds: 60, callers: 4, loops: 8, callerSeconds: 20, seed: 1, log: console.log });
 * ```
 */
export async function soak(options: SoakOptions): Promise<SoakResult> {
  const failures: string[] = [];
  const heap = options.serverHeapMb > 0 ? { DENO_V8_FLAGS: `--max-old-space-size=${options.serverHeapMb}` } : undefined;
  const server = await startTestServer(serverFlags, { env: heap });
  const startedAt = Date.now();
  const loadEnds = startedAt + options.seconds * 1000;
  // Figures are compared from the end of the warm-up: executors started, code cached, heaps grown.
  const warmUpEnds = startedAt + Math.min(30_000, options.seconds * 250);
  const samples: Sample[] = [];
  const reports: CallerReport[] = [];
  let callerProcesses = 0;
  // A look every 5 s while the load runs; stopping cuts the wait short.
  const stopSampling = Promise.withResolvers<void>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await sample(server));
      options.log(
        `soak ${((Date.now() - startedAt) / 1000).toFixed(0)} s: server ${mib(samples.at(-1)!.serverRssMib)}, ` +
          `${samples.at(-1)!.serverFds} fds, ${samples.at(-1)!.executors.length} executors, ` +
          `${reports.length} callers done`,
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((resolve) => timer = setTimeout(resolve, 5_000)), stopSampling.promise]);
      clearTimeout(timer);
    }
  })();
  const endSampling = async () => {
    sampling = false;
    stopSampling.resolve();
    await sampler;
  };
  try {
    await Promise.all(Array.from({ length: options.callers }, async (_, slot) => {
      for (let generation = 0;; generation++) {
        const left = loadEnds - Date.now();
        if (left < 3_000) return;
        const seconds = Math.min(left, options.callerSeconds * 1000) / 1000;
        callerProcesses++;
        const seed = options.seed * 1000 + slot * 100 + generation;
        const report = await runCaller(server, `c${slot}.${generation}`, seconds, options, seed);
        if (typeof report === "string") failures.push(report);
        else reports.push(report);
      }
    }));
    const loaded = samples.filter((s) => s.at >= warmUpEnds);
    await endSampling();
    // Idle: once the executors have scaled down (--scaledown-ms=5000), the server should hold
    // what it held before the load.
    const idleBy = Date.now() + 30_000;
    let idle = await sample(server);
    while (idle.executors.length > 0 && Date.now() < idleBy) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      idle = await sample(server);
    }
    const stillServing = await runCaller(server, "final", 1, { ...options, loops: 1 }, 0);
    if (typeof stillServing === "string") failures.push(`after the soak: ${stillServing}`);

    // Every input: exactly one outcome, the expected one, in the caller and on the server.
    const calls: Record<string, number> = {};
    const inputs: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    let duplicates = 0;
    let missing = 0;
    for (const report of reports) {
      add(calls, report.calls);
      add(inputs, report.inputs);
      add(outcomes, report.outcomes);
      duplicates += report.duplicates;
      missing += report.missing;
      for (const line of report.unexpected) failures.push(`${report.caller}: unexpected outcome ${line}`);
    }
    // A line per call, except a map's successes, which its summary lines count (written just
    // after the replies: waited for, up to a bound).
    const finalInputs = typeof stillServing === "string" ? 0 : sum(stillServing.inputs);
    const logged = () => accountedFor(server.output, "soak-fixture.");
    await server.waitForOutput(() => logged() >= sum(inputs) + finalInputs, "a line for every input", 10)
      .catch(() => {});
    const serverLines = logged();
    if (duplicates > 0) failures.push(`${duplicates} inputs had more than one outcome`);
    if (missing > 0) failures.push(`${missing} inputs had no outcome`);
    if (serverLines !== sum(inputs) + finalInputs) {
      failures.push(`the server logged ${serverLines} calls for ${sum(inputs) + finalInputs} inputs`);
    }
    const unexpectedCount = Object.entries(outcomes).filter(([kind]) => kind.startsWith("unexpected"))
      .reduce((total, [, count]) => total + count, 0);

    // Flat memory and files, from the end of the warm-up to the end of the load, and once idle.
    const first = loaded[0];
    const last = loaded.at(-1);
    const executorFigures = (s: Sample) => {
      const rss = s.executors.map((e) => e.rssMib);
      const fds = s.executors.map((e) => e.fds);
      return {
        count: s.executors.length,
        total: rss.reduce((a, b) => a + b, 0),
        maxRss: Math.max(0, ...rss),
        maxFds: Math.max(0, ...fds),
      };
    };
    if (!first || !last || loaded.length < 2) {
      failures.push(`too few samples after the warm-up (${loaded.length}): run longer`);
    } else {
      const grown = last.serverRssMib - first.serverRssMib;
      if (grown > Math.max(64, first.serverRssMib / 4)) {
        failures.push(`the server's memory grew by ${mib(grown)} under the same load`);
      }
      if (last.serverFds > first.serverFds + 32) {
        failures.push(`the server's open files grew from ${first.serverFds} to ${last.serverFds}`);
      }
      if (idle.serverFds > samples[0].serverFds + 8) {
        failures.push(`the idle server holds ${idle.serverFds} open files, ${samples[0].serverFds} before the load`);
      }
      const [a, b] = [executorFigures(first), executorFigures(last)];
      if (b.maxRss > Math.max(2 * a.maxRss, a.maxRss + 64)) {
        failures.push(`an executor's memory grew to ${mib(b.maxRss)} (${mib(a.maxRss)} after the warm-up)`);
      }
      if (b.maxFds > a.maxFds + 16) failures.push(`an executor's open files grew from ${a.maxFds} to ${b.maxFds}`);
    }
    const maxExecutors = Math.max(...samples.map((s) => s.executors.length), idle.executors.length);
    if (maxExecutors > 12) failures.push(`${maxExecutors} executors at once, over --max-executors=12`);
    const orphans = Math.max(...samples.map((s) => s.orphans), idle.orphans);
    if (orphans > 0) failures.push(`${orphans} executors outlived their parent during the soak`);

    let leftovers = 0;
    try {
      await server.stop();
    } catch (err) {
      leftovers = (await executorsOf(server.dataDir)).length;
      failures.push(`stopping the server: ${(err as Error).message.split("\n")[0]}`);
    }

    const row = (label: string, s: Sample | undefined) => {
      if (!s) return `${label.padEnd(22)} (none)`;
      const e = executorFigures(s);
      return `${label.padEnd(22)} ${mib(s.serverRssMib).padStart(10)} ${String(s.serverFds).padStart(10)}` +
        `${String(e.count).padStart(11)} ${mib(e.total).padStart(12)} ${mib(e.maxRss).padStart(11)}` +
        `${String(e.maxFds).padStart(9)}`;
    };
    const lines = [
      `soak: ${options.seconds} s, ${options.callers} callers at once × ${options.loops} operations in flight, ` +
      `${callerProcesses} caller processes (each up to ${options.callerSeconds} s), seed ${options.seed}, ` +
      `server heap ${options.serverHeapMb > 0 ? `capped at ${options.serverHeapMb} MB` : "uncapped"}`,
      `calls:    ${sum(calls)} (${shown(calls)})`,
      `inputs:   ${sum(inputs)} (${shown(inputs)}); the server logged ${serverLines} calls ` +
      `(${finalInputs} of them the final check)`,
      `outcomes: ${shown(outcomes)}`,
      `          unexpected ${unexpectedCount}, inputs with two outcomes ${duplicates}, with none ${missing}`,
      `${"".padEnd(22)} ${"server RSS".padStart(10)} ${"server fds".padStart(10)}${"executors".padStart(11)} ` +
      `${"their RSS".padStart(12)} ${"max RSS".padStart(11)}${"max fds".padStart(9)}`,
      row("before the load", samples[0]),
      row("after warm-up", first),
      row("end of load", last),
      row("idle, scaled down", idle),
      `executors at once at most ${maxExecutors}; orphaned during the soak ${orphans}; left after stop ${leftovers}`,
      failures.length === 0 ? "checks: all passed" : `checks: ${failures.length} FAILED`,
      ...failures.map((failure) => `  - ${failure}`),
    ];
    return { lines, failures };
  } finally {
    await endSampling().catch(() => {});
    await server.stop().catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "180" },
      callers: { type: "string", default: "4" },
      loops: { type: "string", default: "8" },
      "caller-seconds": { type: "string", default: "30" },
      seed: { type: "string", default: "1" },
      "server-heap-mb": { type: "string", default: "256" },
    },
  });
  const { lines, failures } = await soak({
    seconds: Number(values.seconds),
    callers: Number(values.callers),
    loops: Number(values.loops),
    callerSeconds: Number(values["caller-seconds"]),
    seed: Number(values.seed),
    serverHeapMb: Number(values["server-heap-mb"]),
    log: (line) => console.error(line),
  });
  console.log(lines.join("\n"));
  Deno.exit(failures.length === 0 ? 0 : 1);
}
