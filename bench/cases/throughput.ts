/**
 * Concurrent calls: calls per second with a fixed number in flight from one caller (a closed loop:
 * each completion starts the next call), ours against B1 unary echo at the same concurrency.
 */
import { add } from "../bench_app.ts";
import type { BenchContext } from "../bench_context.ts";
import { makeRow, type Row } from "../row.ts";
import { median } from "../stats.ts";

const smallPayload = new Uint8Array(8);

/**
 * Row "calls/s at N in flight" (target ours >= 1.5x B1).
 *
 * @example
 * ```ts
 * rows.push(await throughput(context));
 * ```
 */
export async function throughput(context: BenchContext): Promise<Row> {
  const { plan, echo } = context;
  const callOurs = () => add.remote(1, 2);
  const callTheirs = () => echo.echo(smallPayload);
  context.progress(
    `throughput: ${plan.inFlight} in flight, ${plan.throughputRounds} round(s) of ${plan.throughputSeconds} s each`,
  );
  // The warm-up also lets our pool start its executors for this load.
  await callsPerSecond(callOurs, plan.inFlight, plan.throughputWarmupSeconds);
  await callsPerSecond(callTheirs, plan.inFlight, plan.throughputWarmupSeconds);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < plan.throughputRounds; round++) {
    ours.push(await callsPerSecond(callOurs, plan.inFlight, plan.throughputSeconds));
    theirs.push(await callsPerSecond(callTheirs, plan.inFlight, plan.throughputSeconds));
  }
  return makeRow(
    `calls/s, ${plan.inFlight} in flight (add vs B1 unary echo)`,
    "calls/s",
    median(ours),
    median(theirs),
    { atLeast: 1.5 },
  );
}

/** Keeps `inFlight` calls running for `seconds`; completed calls per second of wall time. */
export async function callsPerSecond(call: () => Promise<unknown>, inFlight: number, seconds: number): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let completed = 0;
  const lane = async () => {
    while (performance.now() < deadline) {
      await call();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return completed / ((performance.now() - started) / 1000);
}
