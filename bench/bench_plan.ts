/** How much each case measures: the full run (under ~3 minutes) or `--quick` (under 1 minute). */

/** Repetition counts and durations of every case. */
export interface BenchPlan {
  /** Sequential calls before timing, per side. */
  warmupCalls: number;
  /** Alternating rounds of sequential calls, ours then B1, and calls per round. */
  latencyRounds: number;
  latencyCallsPerRound: number;
  /** Calls kept in flight, seconds of warm-up and of each timed round, and rounds per side. */
  inFlight: number;
  throughputWarmupSeconds: number;
  throughputSeconds: number;
  throughputRounds: number;
  /** Cold starts of new app versions, and bare `deno run`s. */
  coldStarts: number;
  processStarts: number;
  /** Size and round trips (after one untimed) of the big payload. */
  payloadBytes: number;
  payloadTrips: number;
  /** Inputs of the `.map` case. */
  mapInputs: number;
  /** Caller processes of the many-callers case, and sequential calls each makes. */
  manyCallers: number;
  manyCallerCalls: number;
}

/**
 * The plan for a run.
 *
 * @example
 * ```ts
 * const plan = benchPlan(true);
 * ```
 */
export function benchPlan(quick: boolean): BenchPlan {
  return {
    warmupCalls: quick ? 300 : 1000,
    latencyRounds: quick ? 2 : 8,
    latencyCallsPerRound: quick ? 500 : 1000,
    inFlight: 64,
    // grpc-js needs seconds of load before its rate settles (JIT, heap growth).
    throughputWarmupSeconds: quick ? 1 : 2,
    throughputSeconds: quick ? 1 : 2,
    throughputRounds: quick ? 2 : 6,
    coldStarts: quick ? 3 : 7,
    processStarts: quick ? 5 : 15,
    payloadBytes: 64 * 1024 * 1024,
    payloadTrips: quick ? 2 : 6,
    mapInputs: quick ? 20_000 : 100_000,
    manyCallers: quick ? 8 : 32,
    manyCallerCalls: quick ? 200 : 500,
  };
}
