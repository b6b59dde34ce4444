/**
 * Map: inputs per second of `.map` over many trivial inputs (the SDK streams them with
 * backpressure, batched per tick), against B1 unary echo calls per second at 64 in flight; and the
 * peak number of executors while it ran.
 */
import { executorsOf } from "../../tests/helpers/process_table.ts";
import { add } from "../bench_app.ts";
import type { BenchContext } from "../bench_context.ts";
import { makeRow, type Row } from "../row.ts";
import { callsPerSecond } from "./throughput.ts";

const smallPayload = new Uint8Array(8);

/**
 * Rows "map inputs/s" (target ours >= 5x B1 at 64 in flight) and "peak executors during map".
 *
 * @example
 * ```ts
 * rows.push(...await mapThroughput(context));
 * ```
 */
export async function mapThroughput(context: BenchContext): Promise<Row[]> {
  const { plan, echo, server } = context;
  const inputs = Array.from({ length: plan.mapInputs }, (_, i) => i);
  context.progress(`map: ${plan.mapInputs} inputs, then B1 at ${plan.inFlight} in flight`);
  let peak = 0;
  let sampling = true;
  // Sampled with ps while the map runs: how far the pool scaled.
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await executorsOf(server.pid)).length);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  let count = 0;
  for await (const _ of add.map(inputs, inputs)) count++;
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  if (count !== plan.mapInputs) throw new Error(`map returned ${count} results for ${plan.mapInputs} inputs`);
  const theirs = await callsPerSecond(() => echo.echo(smallPayload), plan.inFlight, plan.throughputSeconds);
  return [
    makeRow(
      `map inputs/s, ${plan.mapInputs} inputs (vs B1 calls/s, ${plan.inFlight} in flight)`,
      "inputs/s",
      count / seconds,
      theirs,
      { atLeast: 5 },
    ),
    makeRow("peak executors during map (of --max-executors-per-function 4)", "executors", peak, 4, "report"),
  ];
}
