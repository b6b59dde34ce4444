/**
 * Footprint: resident memory of our idle server and of one idle warm executor, against B2, a bare
 * `deno run` of a one-line script that waits on stdin. Reported, not judged.
 */
import { add } from "../bench_app.ts";
import type { BenchContext } from "../bench_context.ts";
import { executorsOf, residentMib } from "../../tests/helpers/process_table.ts";
import { makeRow, type Row } from "../row.ts";
import { median } from "../stats.ts";

const oneLine = new URL("../one_line.ts", import.meta.url).pathname;

/**
 * Rows "idle server RSS" and "idle warm executor RSS" in MiB; call it while nothing is in flight
 * and at least one executor is warm.
 *
 * @example
 * ```ts
 * rows.push(...await footprint(context));
 * ```
 */
export async function footprint(context: BenchContext): Promise<Row[]> {
  context.progress("footprint: RSS of the server, an executor and bare deno runs");
  // Warm already after the warm-call case; run alone (--only), this starts the one executor.
  await add.remote(1, 2);
  const server = await residentMib(context.server.pid);
  const executors = await executorsOf(context.server.pid);
  if (executors.length === 0) throw new Error("no warm executor to measure: the server has no executor child");
  const executor = median(executors.map((process) => process.rssMib));
  const bare = median([
    await bareRss(context.repoRoot),
    await bareRss(context.repoRoot),
    await bareRss(context.repoRoot),
  ]);
  return [
    makeRow("idle server RSS, after warm calls (vs B2 deno run)", "MiB", server, bare, "report"),
    makeRow("idle warm executor RSS (vs B2 deno run)", "MiB", executor, bare, "report"),
  ];
}

/** RSS in MiB of a bare `deno run one_line.ts` once it has started, waiting on stdin. */
async function bareRss(cwd: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", oneLine],
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = "";
    while (!seen.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("one_line.ts ended before it was ready");
      seen += value;
    }
    return await residentMib(child.pid);
  } finally {
    await reader.cancel().catch(() => {});
    await child.stdin.close().catch(() => {});
    await child.status;
  }
}
