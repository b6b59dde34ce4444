/** A caller that hangs up cancels its calls; SIGTERM finishes or cancels calls and leaves no process. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { Client } from "../client.ts";
import { bundleApp } from "../src/sdk/app_bundle.ts";
import { appFunctions } from "../src/sdk/function_registry.ts";
import { executorsOf, startTestServer, useServer } from "./helpers/test_server.ts";
import { app, remoteLines, sleepy, spinForever } from "./fixtures/lifecycle_app.ts";

const callerPath = new URL("./fixtures/lifecycle_caller.ts", import.meta.url).pathname;

function nextRemoteLine(): Promise<string> {
  return new Promise((resolve) =>
    remoteLines.addEventListener("line", (event) => resolve((event as CustomEvent<string>).detail), { once: true })
  );
}

Deno.test("a caller killed mid-call gets its call cancelled and the executor freed", async () => {
  const server = await startTestServer();
  try {
    const caller = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", callerPath],
      env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    // The caller prints the remote "spinning" line once the function runs.
    const reader = caller.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while (!printed.includes("spinning")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`caller ended before the call started: ${printed}`);
      printed += value;
    }
    equal((await executorsOf(server.dataDir)).length, 1);
    caller.kill("SIGKILL");
    await caller.status;
    reader.releaseLock();
    await caller.stdout.cancel().catch(() => {});
    const line = await server.waitForLine(/call lifecycle-fixture\.spinForever .* CANCELLED/);
    ok(line);
    equal((await executorsOf(server.dataDir)).length, 0, "the spinning executor was killed");
  } finally {
    await server.stop();
  }
});

Deno.test("SIGTERM lets an in-flight call finish within the grace period, then stops", async () => {
  const server = await startTestServer(["--grace-ms=10000"]);
  useServer(server);
  try {
    const started = nextRemoteLine();
    const call = sleepy.remote(300);
    equal(await started, "sleeping");
    server.process.kill("SIGTERM");
    equal(await call, "slept 300 ms");
    equal((await server.process.status).code, 0);
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("SIGTERM cancels a call that outlives the grace period, with UNAVAILABLE", async () => {
  const server = await startTestServer(["--grace-ms=200"]);
  useServer(server);
  try {
    const started = nextRemoteLine();
    const call = spinForever.remote();
    equal(await started, "spinning");
    server.process.kill("SIGTERM");
    await rejects(call, (err: StupidModalError) => {
      equal(err.code, Code.UNAVAILABLE);
      match(err.message, /shutting down/);
      return true;
    });
    equal((await server.process.status).code, 0);
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("a server killed with SIGKILL leaves no executor behind", async () => {
  const server = await startTestServer();
  useServer(server);
  try {
    equal(await sleepy.remote(1), "slept 1 ms");
    const executors = await executorsOf(server.dataDir);
    equal(executors.length, 1, "one warm executor");
    server.process.kill("SIGKILL");
    await server.process.status;
    // Executors notice their closed stdin and exit; wait for that, bounded.
    const deadline = Date.now() + 10_000;
    while ((await executorsOf(server.dataDir)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    equal((await executorsOf(server.dataDir)).length, 0, "executors exited with their server");
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("aborting a call's signal cancels it on the server and frees its executor", async () => {
  const server = await startTestServer();
  const started = Promise.withResolvers<void>();
  const client = new Client({
    server: server.address,
    token: server.token,
    onLog: (line) => line.text === "spinning" && started.resolve(),
  });
  try {
    const version = await client.registerApp(await bundleApp("lifecycle-fixture", appFunctions("lifecycle-fixture")));
    const controller = new AbortController();
    const call = client.call({ version, functionName: "spinForever" }, [], controller.signal);
    await started.promise;
    controller.abort();
    await rejects(call, (err: StupidModalError) => err.code === Code.CANCELLED);
    await server.waitForLine(/call lifecycle-fixture\.spinForever .* CANCELLED/);
    equal((await executorsOf(server.dataDir)).length, 0, "the spinning executor was killed");
    await rejects(
      client.call({ version, functionName: "sleepy" }, [1], AbortSignal.abort()),
      (err: StupidModalError) => err.code === Code.CANCELLED,
    );
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("an idle executor stops after --scaledown-ms, and the next call starts a fresh one", async () => {
  const server = await startTestServer(["--scaledown-ms=500"]);
  useServer(server);
  try {
    equal(await sleepy.remote(1), "slept 1 ms");
    const [first] = await executorsOf(server.dataDir);
    ok(first, "a warm executor");
    // Wait, bounded, for the scale-down to happen.
    const deadline = Date.now() + 10_000;
    while ((await executorsOf(server.dataDir)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    equal((await executorsOf(server.dataDir)).length, 0, "the idle executor stopped");
    equal(await sleepy.remote(2), "slept 2 ms");
    const [second] = await executorsOf(server.dataDir);
    ok(second && second !== first, "a new executor served the next call");
  } finally {
    await app.close();
    await server.stop();
  }
});
