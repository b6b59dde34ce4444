/** What every benchmark case is given: the plan, the running processes, and where to report. */
import type { BenchPlan } from "./bench_plan.ts";
import type { Cleanup } from "./cleanup.ts";
import type { EchoClient } from "./echo_client.ts";
import type { ListeningProcess } from "./listening_process.ts";

/**
 * Shared state of one benchmark run.
 *
 * @example
 * ```ts
 * const rows = await warmLatency(context);
 * ```
 */
export interface BenchContext {
  plan: BenchPlan;
  /** The repository root, our server's working directory. */
  repoRoot: string;
  /** Our server (started with STUPID_MODAL_* pointing this process at it). */
  server: ListeningProcess;
  /** A client of the B1 echo server, and its address. */
  echo: EchoClient;
  echoAddress: string;
  /** Undo actions of the run; cases add theirs. */
  cleanup: Cleanup;
  /** Progress notes for people (stderr). */
  progress: (line: string) => void;
}
