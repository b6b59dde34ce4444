/**
 * Cold start: the first `.remote()` of a never-seen app version (code upload, registration with
 * `deno cache`, executor spawn, import) against B2, a bare `deno run` of a one-line script.
 */
import type { BenchContext } from "../bench_context.ts";
import { importColdApp } from "../cold_app.ts";
import { makeRow, type Row } from "../row.ts";
import { median } from "../stats.ts";

const benchDir = new URL("../", import.meta.url).pathname;
const oneLine = new URL("../one_line.ts", import.meta.url).pathname;

/**
 * Row "cold start" in ms (target ours <= 4x B2), medians of interleaved repetitions.
 *
 * @example
 * ```ts
 * rows.push(await coldStart(context));
 * ```
 */
export async function coldStart(context: BenchContext): Promise<Row> {
  const { plan } = context;
  context.progress(`cold start: ${plan.coldStarts} new app versions, ${plan.processStarts} bare deno runs`);
  // Generated modules live under bench/ (gitignored) and go when the run ends, however it ends.
  const dir = await Deno.makeTempDir({ dir: benchDir, prefix: ".cold-" });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  context.cleanup.defer(remove);
  const ours: number[] = [];
  const theirs: number[] = [];
  // Untimed: B2 starts from a warm file cache, as our executors' runtime code is by now.
  await bareDenoRun(context.repoRoot);
  for (let i = 0; i < Math.max(plan.coldStarts, plan.processStarts); i++) {
    if (i < plan.processStarts) theirs.push(await bareDenoRun(context.repoRoot));
    if (i < plan.coldStarts) ours.push(await firstCall(dir, i));
  }
  await remove();
  return makeRow("cold start (new app version vs B2 deno run)", "ms", median(ours), median(theirs), { atMost: 4 });
}

/** Milliseconds from importing a fresh app to its first result. */
async function firstCall(dir: string, index: number): Promise<number> {
  const { app, add } = await importColdApp(dir, index);
  try {
    const started = performance.now();
    const sum = await add.remote(1, 2);
    const elapsed = performance.now() - started;
    if (sum !== 3) throw new Error(`cold add.remote(1, 2) returned ${sum}`);
    return elapsed;
  } finally {
    await app.close();
  }
}

/** Milliseconds from spawning `deno run one_line.ts` to its exit. */
async function bareDenoRun(cwd: string): Promise<number> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", oneLine],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - started;
  if (!output.success) throw new Error(`deno run one_line.ts failed: ${new TextDecoder().decode(output.stderr)}`);
  return elapsed;
}
