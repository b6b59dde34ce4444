/**
 * Many callers: 32 caller processes, each making 500 sequential calls, all started together; the
 * latency percentiles over every call, and the calls per second of the whole run, ours against B1
 * (bare grpc-js unary echo from as many processes). Every call must complete. Reported, not judged.
 */
import type { BenchContext } from "../bench_context.ts";
import { forEachLine } from "../../tests/helpers/process_lines.ts";
import { makeRow, type Row } from "../row.ts";
import { percentile } from "../stats.ts";

const callerPath = new URL("../many_callers_caller.ts", import.meta.url).pathname;

/** What one side's run came to. */
interface Run {
  samples: number[];
  callsPerSecond: number;
}

/**
 * Rows "many callers p50", "p99" (µs) and "calls/s".
 *
 * @example
 * ```ts
 * rows.push(...await manyCallers(context));
 * ```
 */
export async function manyCallers(context: BenchContext): Promise<Row[]> {
  const { plan } = context;
  const what = `${plan.manyCallers} callers × ${plan.manyCallerCalls} calls`;
  context.progress(`many callers: ${what}, ours then B1`);
  const ours = await run(context, "ours");
  const theirs = await run(context, "b1");
  const p = (samples: number[], rank: number) => percentile(samples, rank) * 1000;
  return [
    makeRow(`many callers p50 (${what}, vs B1)`, "µs", p(ours.samples, 50), p(theirs.samples, 50), "report"),
    makeRow(`many callers p99 (${what}, vs B1)`, "µs", p(ours.samples, 99), p(theirs.samples, 99), "report"),
    makeRow(`many callers calls/s (${what}, vs B1)`, "calls/s", ours.callsPerSecond, theirs.callsPerSecond, "report"),
  ];
}

/** Starts every caller, waits until all are warm, says go, and collects their latencies. */
async function run(context: BenchContext, side: "ours" | "b1"): Promise<Run> {
  const { plan } = context;
  const callers = Array.from({ length: plan.manyCallers }, () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        callerPath,
        side,
        String(plan.manyCallerCalls),
        context.echoAddress,
      ],
      cwd: context.repoRoot,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    context.cleanup.defer(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    });
    const ready = Promise.withResolvers<void>();
    let result: number[] | undefined;
    let errors = "";
    const out = forEachLine(child.stdout, (line) => {
      if (line === "ready") ready.resolve();
      else if (line.startsWith("[")) result = JSON.parse(line);
    });
    const err = forEachLine(child.stderr, (line) => errors = `${errors}${line}\n`.slice(-2000));
    const done = Promise.all([child.status, out, err]).then(([status]) => {
      if (!status.success || !result) throw new Error(`a ${side} caller failed (status ${status.code}): ${errors}`);
      return result;
    });
    done.catch(() => ready.resolve());
    return { child, ready: ready.promise, done };
  });
  await Promise.all(callers.map((caller) => caller.ready));
  const started = performance.now();
  const go = new TextEncoder().encode("go\n");
  await Promise.all(callers.map(async ({ child }) => {
    const writer = child.stdin.getWriter();
    await writer.write(go).catch(() => {});
    await writer.close().catch(() => {});
  }));
  const results = await Promise.all(callers.map((caller) => caller.done));
  const seconds = (performance.now() - started) / 1000;
  const samples = results.flat();
  const expected = plan.manyCallers * plan.manyCallerCalls;
  if (samples.length !== expected) throw new Error(`${samples.length} of ${expected} ${side} calls completed`);
  return { samples, callsPerSecond: samples.length / seconds };
}
