/** The demo: `.local` fails for lack of a permission, `.remote` succeeds; bad input gets a clear message. */
import { equal, match, ok } from "node:assert/strict";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { inference, parseNumbers } from "../app/app.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));

/** Runs a deno.json task's command (without the leading "deno") with extra arguments and stdin. */
async function runTask(task: string, extraArgs: string[], env: Record<string, string>, input = "") {
  const args = [...(denoJson.tasks[task] as string).split(" ").slice(1), ...extraArgs];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: repoRoot,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return { code: output.code, text };
}

Deno.test("deno task demo: local fails for lack of permission, remote computes the result", async () => {
  const { code, text } = await runTask("demo", [], {});
  equal(code, 0, text);
  match(text, /local: +failed.*Requires read access to "app\/models\/weights\.json"/);
  match(text, /\[remote inference\] loaded weights w1=2 w2=3 bias=0\.5/);
  match(text, /remote: inference\(3, 5\) = 21\.5/);
  match(text, /"three" is not a number/);
  match(text, /remote: inference\(1\.5, -2\) = -2\.5/);
});

Deno.test("the app, with exactly the app task's permissions, against a server", async (t) => {
  const server = await startTestServer(["--grant-read=app/models"]);
  const env = { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token };
  try {
    await t.step("numbers as arguments", async () => {
      const { code, text } = await runTask("app", ["3", "5"], env);
      equal(code, 0, text);
      match(text, /local: +failed/);
      match(text, /remote: inference\(3, 5\) = 21\.5/);
    });

    await t.step("bad lines on stdin get a message and the next line is read; EOF exits cleanly", async () => {
      const { code, text } = await runTask("app", [], env, "\nabc def\n7\n1 2 3\n2 2\n");
      equal(code, 0, text);
      match(text, /please type two numbers/);
      match(text, /"abc" is not a number/);
      match(text, /expected two numbers, got 1/);
      match(text, /expected two numbers, got 3/);
      match(text, /remote: inference\(2, 2\) = 10\.5/);
    });

    await t.step("a wrong token is a clear error, not a crash", async () => {
      const { code, text } = await runTask("app", ["3", "5"], { ...env, STUPID_MODAL_TOKEN: "wrong" });
      equal(code, 0, text);
      match(text, /remote: failed \[16\]: wrong token/);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("inference.local works where the process may read the weights", async () => {
  // This test process runs with --allow-read, so the local run succeeds and matches the remote one.
  equal(await inference.local(3, 5), 21.5);
  const server = await startTestServer(["--grant-read=app/models"]);
  useServer(server);
  try {
    equal(await inference.remote(3, 5), 21.5);
  } finally {
    await server.stop();
  }
});

Deno.test("parseNumbers accepts two numbers and explains anything else", () => {
  ok(Array.isArray(parseNumbers(" 3, -4.5 ")));
  equal(parseNumbers("").toString(), "please type two numbers, for example: 3 5");
  equal(parseNumbers("1 x"), '"x" is not a number');
  equal(parseNumbers("Infinity 2"), '"Infinity" is not a number');
});
