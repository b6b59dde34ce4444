/**
 * Warm call latency: sequential `add.remote(1, 2)` on a warm executor against B1 unary echo calls,
 * in alternating rounds so that drift of a busy machine hits both sides alike.
 */
import { add } from "../bench_app.ts";
import type { BenchContext } from "../bench_context.ts";
import { makeRow, type Row } from "../row.ts";
import { percentile } from "../stats.ts";

const smallPayload = new Uint8Array(8);

/**
 * Rows "warm call p50" (target ours <= 0.8x B1) and "warm call p99" (reported), in µs.
 *
 * @example
 * ```ts
 * rows.push(...await warmLatency(context));
 * ```
 */
export async function warmLatency(context: BenchContext): Promise<Row[]> {
  const { plan, echo } = context;
  const ours: number[] = [];
  const theirs: number[] = [];
  const callOurs = async () => {
    const sum = await add.remote(1, 2);
    if (sum !== 3) throw new Error(`add.remote(1, 2) returned ${sum}`);
  };
  const callTheirs = () => echo.echo(smallPayload);
  context.progress(`warm latency: ${plan.warmupCalls} warm-up calls each`);
  await timeSequential(callOurs, plan.warmupCalls, []);
  await timeSequential(callTheirs, plan.warmupCalls, []);
  for (let round = 0; round < plan.latencyRounds; round++) {
    await timeSequential(callOurs, plan.latencyCallsPerRound, ours);
    await timeSequential(callTheirs, plan.latencyCallsPerRound, theirs);
  }
  return [
    makeRow("warm call p50 (add vs B1 unary echo)", "µs", p(ours, 50), p(theirs, 50), { atMost: 0.8 }),
    makeRow("warm call p99 (add vs B1 unary echo)", "µs", p(ours, 99), p(theirs, 99), "report"),
  ];
}

async function timeSequential(call: () => Promise<unknown>, count: number, samples: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
}

// Milliseconds from performance.now() to microseconds.
function p(samples: number[], rank: number): number {
  return percentile(samples, rank) * 1000;
}
