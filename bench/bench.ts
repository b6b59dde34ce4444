/**
 * `deno task bench`: starts our server and the baselines as separate processes, runs every case,
 * prints one row per case, and always stops what it started. `--help` lists the flags.
 *
 * @module
 */
import { app } from "./bench_app.ts";
import type { BenchContext } from "./bench_context.ts";
import { type BenchCase, benchCases, type BenchFlags, benchHelp, parseBenchFlags } from "./bench_flags.ts";
import { benchPlan } from "./bench_plan.ts";
import { killLeftoverExecutors, startEchoServer, startOurServer } from "./bench_processes.ts";
import { Cleanup } from "./cleanup.ts";
import { connectEcho } from "./echo_client.ts";
import type { ListeningProcess } from "./listening_process.ts";
import type { Row } from "./row.ts";
import { formatTable } from "./table.ts";
import { bigPayload } from "./cases/big_payload.ts";
import { coldStart } from "./cases/cold_start.ts";
import { footprint } from "./cases/footprint.ts";
import { manyCallers } from "./cases/many_callers.ts";
import { mapThroughput } from "./cases/map_throughput.ts";
import { throughput } from "./cases/throughput.ts";
import { warmLatency } from "./cases/warm_latency.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
/** No step of a healthy run comes near this. */
const stepLimitMs = 180_000;

let flags: BenchFlags;
try {
  flags = parseBenchFlags(Deno.args);
} catch (err) {
  console.error(`error: ${(err as Error).message}\n\n${benchHelp}`);
  Deno.exit(2);
}
if (flags.help) {
  console.log(benchHelp);
  Deno.exit(0);
}

const progress = (line: string) => console.error(`bench: ${line}`);
const cleanup = new Cleanup();
// Ctrl-C or a kill still stops the servers and removes the temp folders.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    progress(`${signal}: cleaning up`);
    await cleanup.run();
    Deno.exit(130);
  });
}

const rows: Row[] = [];
let crashed: unknown;
/** Our server's last output lines, once it started: the first clue when a run crashes. */
let serverTail: (() => string) | undefined;
const started = performance.now();
try {
  const context = await within("start-up", setUp);
  const cases: Record<BenchCase, () => Promise<Row | Row[]>> = {
    warm: () => warmLatency(context),
    // Measured after the warm calls: the server is idle and exactly the one executor of `add` is warm.
    footprint: () => footprint(context),
    throughput: () => throughput(context),
    map: () => mapThroughput(context),
    callers: () => manyCallers(context),
    cold: () => coldStart(context),
    payload: () => bigPayload(context),
  };
  for (const name of benchCases) {
    if (flags.only && !flags.only.has(name)) continue;
    rows.push(...[await within(name, cases[name])].flat());
  }
} catch (err) {
  crashed = err;
}
// Read before cleanup removes the log files.
const lastServerLines = serverTail?.();
for (const error of await cleanup.run()) {
  progress(`cleanup failed: ${error.message}`);
  crashed ??= error;
}
progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
await report(rows, flags.json);
if (crashed) {
  const error = crashed instanceof Error ? crashed : new Error(String(crashed));
  let root = error;
  while (root.cause instanceof Error) root = root.cause;
  console.error(`bench crashed: ${error.message}\n${root.stack ?? ""}`);
  if (lastServerLines) console.error(`our server's last lines:\n${lastServerLines}`);
  Deno.exit(1);
}

/** Starts both servers, points this process's SDK at ours, and registers every undo action. */
async function setUp(): Promise<BenchContext> {
  const plan = benchPlan(flags.quick);
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-bench-" });
  cleanup.defer(() => Deno.remove(dataDir, { recursive: true }));
  // The servers' output goes to files here, as an operator's log files would take it.
  const logDir = await Deno.makeTempDir({ prefix: "stupid-modal-bench-logs-" });
  cleanup.defer(() => Deno.remove(logDir, { recursive: true }));
  cleanup.defer(async () => {
    const leftover = await killLeftoverExecutors(dataDir);
    if (leftover.length > 0) throw new Error(`executors ${leftover.join(", ")} outlived the server; killed them`);
  });
  const token = crypto.randomUUID();
  progress(`starting our server and the B1 echo server (${flags.quick ? "quick" : "full"} run)`);
  const [ours, echoServer] = await Promise.allSettled([
    startOurServer(repoRoot, dataDir, token, `${logDir}/server.log`),
    startEchoServer(repoRoot, `${logDir}/echo.log`),
  ]);
  for (const result of [ours, echoServer]) {
    if (result.status === "fulfilled") cleanup.defer(() => result.value.stop());
  }
  const server = unwrap(ours);
  serverTail = server.tail;
  const echoAddress = unwrap(echoServer).address;
  Deno.env.set("STUPID_MODAL_SERVER", server.address);
  Deno.env.set("STUPID_MODAL_TOKEN", token);
  // Closed before the servers stop, so that our server has no open session to wait for.
  cleanup.defer(() => app.close());
  const echo = connectEcho(echoAddress);
  cleanup.defer(() => echo.close());
  return { plan, repoRoot, server, echo, echoAddress, cleanup, progress };
}

/** Runs one step, failing it if it hangs (a wedged server must not wedge the run). */
async function within<T>(step: string, body: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, fail) =>
    timer = setTimeout(() => fail(new Error(`${step} took over ${stepLimitMs / 1000} s`)), stepLimitMs)
  );
  try {
    return await Promise.race([body(), limit]);
  } catch (err) {
    throw new Error(`${step} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function unwrap(result: PromiseSettledResult<ListeningProcess>): ListeningProcess {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/** The table for people (stderr when stdout carries JSON), and the JSON rows if asked. */
async function report(rows: Row[], json: string | undefined): Promise<void> {
  const table = rows.length > 0 ? formatTable(rows) : "(no rows)";
  if (json === "-") {
    console.error(table);
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(table);
  if (json) await Deno.writeTextFile(json, JSON.stringify(rows, null, 2) + "\n");
}
