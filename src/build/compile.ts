/**
 * `deno task compile`: builds the server and the CLI as standalone executables with
 * `deno compile`, `dist/stupid-modal-server` from `server.ts` and `dist/stupid-modal` from `cli.ts`
 * (each entry point that exists), with the permissions their `deno task` runs them with.
 * `deno compile` embeds Deno's runtime binary, `denort`: the one `DENORT_BIN` names, else one it
 * downloads for this Deno version (which needs network access).
 *
 * @module
 */
import { join } from "node:path";

/** One executable to build. */
export interface Target {
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Output file, relative to the repository root. */
  output: string;
  /** The `deno task` whose `deno run` flags (permissions) are baked into the executable. */
  task: string;
  /** Flags used when deno.json has no such task. */
  defaultFlags: string[];
  /** Further `deno compile` flags: unstable features, modules loaded by URL at run time. */
  extraFlags: string[];
}

/**
 * What `deno task compile` builds.
 *
 * @example
 * ```ts
 * for (const target of targets) console.log(target.entry, "→", target.output);
 * ```
 */
export const targets: Target[] = [
  {
    entry: "server.ts",
    output: "dist/stupid-modal-server",
    task: "server",
    defaultFlags: [],
    extraFlags: [
      // Executors (the same binary) host permission-restricted Web Workers.
      "--unstable-worker-options",
      // Imported by URL from the worker entries the server writes, so not found by compile itself.
      "--include=src/sandbox/worker_main.ts",
      // What apps import as "stupid-modal".
      "--include=mod.ts",
    ],
  },
  {
    entry: "cli.ts",
    output: "dist/stupid-modal",
    task: "cli",
    defaultFlags: ["--no-prompt", "--allow-net", "--allow-read", "--allow-env"],
    extraFlags: [],
  },
];

/**
 * The flags of a `deno run` task that come before its entry module (permissions and the like;
 * never the script's own arguments, such as the demo's `--grant-read=app/models`).
 *
 * @example
 * ```ts
 * runFlags("deno run --allow-net server.ts --port=1", "server.ts"); // ["--allow-net"]
 * ```
 */
export function runFlags(task: string, entry: string): string[] {
  const words = task.trim().split(/\s+/);
  const at = words.indexOf(entry);
  if (words[0] !== "deno" || words[1] !== "run" || at < 0) {
    throw new Error(`the task "${task}" is not "deno run <flags> ${entry} …"`);
  }
  return words.slice(2, at);
}

const repoRoot = new URL("../../", import.meta.url).pathname;

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((info) => info.isFile, () => false);
}

async function main(): Promise<number> {
  const tasks = (JSON.parse(await Deno.readTextFile(join(repoRoot, "deno.json"))).tasks ?? {}) as Record<
    string,
    string
  >;
  const denort = Deno.env.get("DENORT_BIN");
  if (denort === undefined) {
    console.log(
      "DENORT_BIN is not set: deno compile downloads the denort runtime for this Deno version (needs network access)",
    );
  } else if (!await isFile(denort)) {
    console.error(`error: DENORT_BIN=${denort} is not a file; point it at a denort binary of this Deno version`);
    return 1;
  } else {
    console.log(`denort runtime: ${denort} (DENORT_BIN)`);
  }
  await Deno.mkdir(join(repoRoot, "dist"), { recursive: true });
  const report: string[] = [];
  let failed = false;
  for (const target of targets) {
    if (!await isFile(join(repoRoot, target.entry))) {
      report.push(`skipped ${target.output}: ${target.entry} does not exist`);
      continue;
    }
    const task = tasks[target.task];
    const flags = task ? runFlags(task, target.entry) : target.defaultFlags;
    const args = ["compile", ...flags, ...target.extraFlags, `--output=${target.output}`, target.entry];
    console.log(`$ deno ${args.join(" ")}`);
    const { success } = await new Deno.Command(Deno.execPath(), { args, cwd: repoRoot }).spawn().status;
    if (success) {
      const size = (await Deno.stat(join(repoRoot, target.output))).size / 2 ** 20;
      report.push(`built ${target.output} (${size.toFixed(0)} MiB) from ${target.entry}`);
    } else {
      failed = true;
      report.push(`FAILED to build ${target.output} from ${target.entry} (deno compile's error is above)`);
    }
  }
  console.log(report.join("\n"));
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
