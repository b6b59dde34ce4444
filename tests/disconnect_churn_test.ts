/**
 * End-to-end regression test for the reason Deno is pinned to 2.9.3 (DESIGN.md): on 2.9.4–2.9.6
 * the server's node:http2 aborts when a gRPC client closes its connection after a few thousand
 * calls. Here separate caller processes make thousands of calls each and then disconnect, in
 * several ways and round after round, and the server must stay up and keep answering.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { startTestServer, type TestServer, useServer } from "./helpers/test_server.ts";
import { app, increment } from "./fixtures/churn_app.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const callerPath = new URL("./fixtures/churn_caller.ts", import.meta.url).pathname;

type Leave = "close" | "exit" | "abandon";

interface Caller {
  calls: number;
  leave: Leave;
}

/** Runs one caller process to its end; returns what it printed and how it exited. */
async function runCaller(server: TestServer, caller: Caller, batch: number) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      `--allow-read=${fixtures}`,
      "--allow-env=STUPID_MODAL_*",
      callerPath,
      String(caller.calls),
      String(batch),
      caller.leave,
    ],
    cwd: repoRoot,
    env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  return { code: output.code, stdout, stderr };
}

Deno.test("callers that make thousands of calls and disconnect, round after round, leave the server serving", async () => {
  const server = await startTestServer();
  let serverExit: Deno.CommandStatus | undefined;
  server.process.status.then((status) => serverExit = status);
  const batch = 100;
  const rounds: Caller[][] = [
    [{ calls: 2500, leave: "close" }],
    [{ calls: 2000, leave: "exit" }, { calls: 2000, leave: "exit" }],
    [{ calls: 3000, leave: "abandon" }],
    [{ calls: 2000, leave: "close" }, { calls: 2000, leave: "abandon" }],
    [{ calls: 2500, leave: "exit" }, { calls: 2500, leave: "close" }],
  ];
  try {
    useServer(server);
    strictEqual(await increment.remote(0), 1);
    await app.close();
    for (const [index, callers] of rounds.entries()) {
      const round = `round ${index + 1} (${callers.map((c) => `${c.calls} calls, ${c.leave}`).join(" + ")})`;
      const results = await Promise.all(callers.map((caller) => runCaller(server, caller, batch)));
      results.forEach((result, i) => {
        const what = `${round}, caller ${i + 1}`;
        strictEqual(result.code, 0, `${what} exited with ${result.code}:\n${result.stderr}`);
        const counts = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "null");
        deepStrictEqual(counts, { ok: callers[i].calls, wrong: 0 }, `${what} printed ${result.stdout}`);
      });

      strictEqual(
        serverExit,
        undefined,
        `the server died after ${round}:\n${server.output.filter((line) => !line.startsWith("call ")).join("\n")}`,
      );
      const probes = Array.from({ length: 50 }, (_, i) => increment.remote(1000 * index + i));
      deepStrictEqual(await Promise.all(probes), Array.from({ length: 50 }, (_, i) => 1000 * index + i + 1));
      await app.close();
    }
    // Every call counted above ran on the server (abandoned ones may add more).
    const served = () => server.output.filter((line) => /^call churn-fixture\.increment \S+ ok$/.test(line)).length;
    const counted = rounds.flat().reduce((sum, caller) => sum + caller.calls, 0) + 1 + 50 * rounds.length;
    await server.waitForOutput(() => served() >= counted, `a line for each of the ${counted} calls made`);
  } finally {
    await app.close();
    await server.stop();
  }
});
