/**
 * `deno task compile` builds a server binary that serves real calls, with its executors running as
 * the same binary, and a CLI binary that answers `--help`. `deno compile` needs Deno's `denort`
 * runtime, which these machines cannot download: the test runs only when `DENORT_BIN` names one,
 * and otherwise says, visibly, that it did not run and why.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { forEachLine } from "./helpers/process_lines.ts";
import { processTable } from "./helpers/process_table.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const serverBinary = join(repoRoot, "dist/stupid-modal-server");
const cliBinary = join(repoRoot, "dist/stupid-modal");

function notRunReason(): string | undefined {
  const denort = Deno.env.get("DENORT_BIN");
  const why = "deno compile needs the denort runtime, which cannot be downloaded here";
  if (!denort) return `DENORT_BIN is not set; ${why}`;
  const isFile = (() => {
    try {
      return Deno.statSync(denort).isFile;
    } catch {
      return false;
    }
  })();
  if (!isFile) return `DENORT_BIN=${denort} is not a file; ${why}`;
  return undefined;
}

const notRun = notRunReason();
if (notRun) console.log(`compile test NOT RUN: ${notRun}`);

Deno.test({
  name: notRun
    ? `standalone binaries: NOT RUN (${notRun})`
    : "standalone binaries build, serve a call, and run executors as themselves",
  ignore: notRun !== undefined,
}, async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile"],
    cwd: repoRoot,
    env: { NO_COLOR: "1" },
  }).output();
  const built = new TextDecoder().decode(build.stdout) + new TextDecoder().decode(build.stderr);
  ok(build.success, `deno task compile failed:\n${built}`);

  // A DENORT_BIN that is the deno CLI itself builds a binary that ignores what was embedded.
  const help = await new Deno.Command(serverBinary, { args: ["--help"], env: { NO_COLOR: "1" } }).output();
  const helpText = new TextDecoder().decode(help.stdout);
  ok(
    help.success && helpText.includes("--grant-read"),
    `dist/stupid-modal-server --help did not print the server's help (is DENORT_BIN=${
      Deno.env.get("DENORT_BIN")
    } a denort binary, not the deno CLI?):\n${(helpText + new TextDecoder().decode(help.stderr)).slice(0, 400)}`,
  );

  await serveOneCall();

  if (await Deno.stat(cliBinary).then(() => true, () => false)) {
    const cli = await new Deno.Command(cliBinary, { args: ["--help"], env: { NO_COLOR: "1" } }).output();
    const text = new TextDecoder().decode(cli.stdout) + new TextDecoder().decode(cli.stderr);
    ok(cli.success, `dist/stupid-modal --help failed:\n${text}`);
    ok(text.trim().length > 0, "dist/stupid-modal --help printed nothing");
  } else {
    console.log("dist/stupid-modal was not built (cli.ts does not exist yet): its --help was not run");
  }
});

/** Starts the compiled server, calls a fixture function on it, checks its executors, stops it. */
async function serveOneCall(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-compile-test-" });
  const token = crypto.randomUUID();
  const server = new Deno.Command(serverBinary, {
    args: ["--port=0", `--data-dir=${dataDir}`],
    cwd: repoRoot,
    env: { STUPID_MODAL_TOKEN: token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const listening = Promise.withResolvers<string>();
  const onLine = (line: string) => {
    output.push(line);
    if (line.startsWith("listening on ")) listening.resolve(line.slice("listening on ".length).trim());
  };
  const collected = Promise.all([forEachLine(server.stdout, onLine), forEachLine(server.stderr, onLine)]);
  listening.promise.catch(() => {});
  server.status.then((status) =>
    listening.reject(new Error(`the server exited with ${status.code} before listening:\n${output.join("\n")}`))
  );
  const { app, echo } = await import("./fixtures/values_app.ts");
  try {
    const address = await listening.promise;
    Deno.env.set("STUPID_MODAL_SERVER", address);
    Deno.env.set("STUPID_MODAL_TOKEN", token);
    const value = { numbers: [1, 2.5, -3], when: new Date(0), tags: new Set(["a"]), big: 2n ** 70n };
    deepStrictEqual(await echo.remote(value), value, `the call's value did not come back:\n${output.join("\n")}`);

    const executors = (await processTable()).filter((process) => process.ppid === server.pid);
    ok(executors.length >= 1, "the server started no executor process");
    for (const executor of executors) {
      ok(
        executor.args.startsWith(`${serverBinary} executor `),
        `an executor is not the server binary in executor mode: ${executor.args.slice(0, 200)}`,
      );
    }
  } finally {
    await app.close();
    try {
      server.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const status = await server.status;
    await collected;
    const left = (await processTable()).filter((process) =>
      process.args.startsWith(`${serverBinary} executor `) && process.args.includes(dataDir)
    );
    for (const { pid } of left) Deno.kill(pid, "SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
    deepStrictEqual(left.map((process) => process.pid), [], "executor processes outlived the server");
    equal(status.code, 0, `the server did not stop cleanly:\n${output.join("\n")}`);
  }
}
