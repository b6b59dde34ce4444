/**
 * CPU placement (--cpu-placement): while calls come one at a time, the server's main thread and
 * the executor running them keep to one CPU; two inputs out at once, an executor gone, or the
 * flag set to off leave every thread free to run on any CPU. Masks are read with `taskset`.
 */
import { deepStrictEqual, equal, notEqual, ok } from "node:assert/strict";
import { app, pause, whoRuns } from "./fixtures/placement_app.ts";
import { cpuCount, cpuMasks } from "./helpers/cpu_masks.ts";
import { executorsOf, startTestServer, type TestServer, useServer } from "./helpers/test_server.ts";

const [everyCpu] = await cpuMasks(Deno.pid, false);
const ignore = cpuCount(everyCpu) < 2;
if (ignore) console.log(`cpu placement test NOT RUN: this process may use one CPU only (mask ${everyCpu})`);

/** Calls `whoRuns` one after the other, more times than placement waits for; returns the executor's pid. */
async function serialCalls(): Promise<number> {
  const pids = new Set<number>();
  for (let i = 0; i < 40; i++) pids.add(await whoRuns.remote());
  equal(pids.size, 1, "one warm executor serves calls that come one at a time");
  return [...pids][0];
}

/** The one mask all threads of `pid` share (fails if they differ). */
async function sharedMask(pid: number): Promise<string> {
  const masks = new Set(await cpuMasks(pid));
  equal(masks.size, 1, `the threads of ${pid} share one mask, not ${[...masks]}`);
  return [...masks][0];
}

async function withServer(flags: string[], body: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer(flags);
  useServer(server);
  try {
    await body(server);
  } finally {
    await app.close();
    await server.stop();
  }
}

Deno.test({ name: "cpu placement", ignore }, async (t) => {
  await withServer([], async (server) => {
    const serverPid = server.process.pid;
    let executor = 0;

    await t.step("calls one at a time: the server and their executor keep to one CPU", async () => {
      executor = await serialCalls();
      const mask = await sharedMask(executor);
      equal(cpuCount(mask), 1, `the executor keeps to one CPU (mask ${mask})`);
      deepStrictEqual(await cpuMasks(serverPid, false), [mask], "the server's main thread keeps to the same CPU");
    });

    await t.step("four inputs out at once: every thread may run anywhere again", async () => {
      const pids = await Promise.all([300, 300, 300, 300].map((ms) => pause.remote(ms)));
      equal(new Set(pids).size, 1, "one executor ran the four together");
      notEqual(pids[0], executor);
      equal(await sharedMask(executor), everyCpu, "the first executor is free again");
      equal(await sharedMask(serverPid), everyCpu, "every thread of the server is free again");
    });

    await t.step("calls one at a time again: pinned again", async () => {
      equal(await serialCalls(), executor);
      equal(cpuCount(await sharedMask(executor)), 1);
      equal(cpuCount((await cpuMasks(serverPid, false))[0]), 1);
    });

    await t.step("a call that runs long, alone: every thread is free while it still runs", async () => {
      const slow = pause.remote(3000);
      const deadline = Date.now() + 2500;
      while ((await cpuMasks(serverPid, false))[0] !== everyCpu) {
        ok(Date.now() < deadline, "the server was freed while the long call ran");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      equal(await sharedMask(serverPid), everyCpu, "every thread of the server is free");
      equal(await sharedMask(executor), everyCpu);
      await slow;
    });

    await t.step("calls alternating between two executors pin neither", async () => {
      for (let i = 0; i < 40; i++) {
        await whoRuns.remote();
        await pause.remote(0);
      }
      equal(await sharedMask(serverPid), everyCpu);
      equal(await sharedMask(executor), everyCpu);
    });
  });

  await t.step("the executor scales down: the server is free again", async () => {
    await withServer(["--scaledown-ms=100"], async (server) => {
      const executor = await serialCalls();
      equal(cpuCount((await cpuMasks(server.process.pid, false))[0]), 1);
      const deadline = Date.now() + 20_000;
      while ((await executorsOf(server.dataDir)).includes(executor)) {
        ok(Date.now() < deadline, "the idle executor stopped within 20 s");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      deepStrictEqual(await cpuMasks(server.process.pid, false), [everyCpu]);
    });
  });

  await t.step("--cpu-placement=off: nothing is pinned", async () => {
    await withServer(["--cpu-placement=off"], async (server) => {
      const executor = await serialCalls();
      equal(await sharedMask(executor), everyCpu);
      deepStrictEqual(await cpuMasks(server.process.pid, false), [everyCpu]);
    });
  });

  await t.step("a bad --cpu-placement is refused with a clear error", async () => {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", new URL("../server.ts", import.meta.url).pathname, "--cpu-placement=sometimes"],
      stdout: "null",
      stderr: "piped",
    }).output();
    notEqual(code, 0);
    ok(new TextDecoder().decode(stderr).includes(`--cpu-placement must be auto or off, got "sometimes"`));
  });
});
