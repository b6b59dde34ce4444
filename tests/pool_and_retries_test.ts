/** Pool settings and retries: caps respected, minimums kept warm, queues bounded, failures retried. */
import { deepStrictEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { Code, RemoteError, type StupidModalError } from "../mod.ts";
import { executorsOf, startTestServer, useServer } from "./helpers/test_server.ts";
import {
  app,
  bottleneck,
  flaky,
  fragile,
  gather,
  heapA,
  heapB,
  hopeless,
  remoteLines,
  sturdy,
  warm,
  whichExecutor,
} from "./fixtures/pool_app.ts";
import { nextLine } from "./helpers/remote_lines.ts";

/** Kills the executor that printed `text` while running, as soon as it prints it. */
async function killWhenStarted(server: { dataDir: string }, text: string, before: number[]): Promise<void> {
  await nextLine(remoteLines, text);
  const fresh = (await executorsOf(server.dataDir)).filter((pid) => !before.includes(pid));
  equal(fresh.length, 1, "one new executor runs the call");
  Deno.kill(fresh[0], "SIGKILL");
}

Deno.test("pools and retries", async (t) => {
  const server = await startTestServer(["--max-queued-inputs=5"]);
  useServer(server);
  try {
    await t.step("minWorkers: an executor is warm before the first call, and serves it", async () => {
      // Any call registers the app, which starts the warm minimum of `warm`.
      await rejects(hopeless.remote());
      const deadline = Date.now() + 20_000;
      let warmPids: number[] = [];
      while (Date.now() < deadline) {
        const lines = server.output.filter((line) => line.includes("pool-fixture.warm"));
        warmPids = await executorsOf(server.dataDir);
        if (lines.length === 0 && warmPids.length >= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const servedBy = await warm.remote();
      ok(warmPids.includes(servedBy), `the warm executor ${servedBy} was among ${warmPids}`);
    });

    await t.step("a function that fails twice then succeeds is retried to success", async () => {
      equal(await flaky.remote("a"), 3);
      await server.waitForLine(/call pool-fixture\.flaky .* after 3 attempts ok$/);
    });

    await t.step("an input that exhausts its retries reports the last error", async () => {
      await rejects(hopeless.remote(), (err: RemoteError) => {
        ok(err instanceof RemoteError);
        equal(err.message, "still broken");
        return true;
      });
      await server.waitForLine(/call pool-fixture\.hopeless .* after 2 attempts UNKNOWN/);
    });

    await t.step("an executor killed mid-call: retried with retries on, an error without", async () => {
      let before = await executorsOf(server.dataDir);
      const retried = sturdy.remote("one");
      await killWhenStarted(server, "started one", before);
      equal(await retried, "done one");

      before = await executorsOf(server.dataDir);
      const lost = fragile.remote("two");
      await killWhenStarted(server, "started two", before);
      await rejects(lost, (err: StupidModalError) => {
        equal(err.code, Code.INTERNAL);
        match(err.message, /executor exited unexpectedly/);
        return true;
      });
    });

    await t.step("maxWorkers: never more executors for a function than allowed", async () => {
      // Never more than 5 waiting (none run until the executors have started): within --max-queued-inputs=5.
      const pids = await Array.fromAsync(
        whichExecutor.map(Array.from({ length: 40 }, (_, i) => i), { maxOutstanding: 5 }),
      );
      equal(pids.length, 40);
      ok(new Set(pids).size <= 2, `${new Set(pids).size} executors served a function capped at 2`);
    });

    await t.step("maxInputs: one executor runs several inputs at once", async () => {
      const results = await Promise.all(["a", "b", "c", "d"].map((tag) => gather.remote(4, tag)));
      for (const result of results) equal(result.peak, 4, `call ${result.tag} saw ${result.peak} in flight`);
      equal(new Set(results.map((result) => result.pid)).size, 1, "all on the one executor allowed");
    });

    await t.step("a full queue refuses inputs with RESOURCE_EXHAUSTED and keeps serving", async () => {
      const inputs = Array.from({ length: 30 }, (_, i) => i);
      const results = await Array.fromAsync(bottleneck.map(inputs, { returnExceptions: true, maxOutstanding: 30 }));
      const refused = results.filter((result) =>
        typeof result !== "number" && (result as StupidModalError).code === Code.RESOURCE_EXHAUSTED
      );
      ok(refused.length > 0, "some inputs found the queue full");
      match((refused[0] as StupidModalError).message, /--max-queued-inputs/);
      const ran = results.filter((result) => typeof result === "number");
      deepStrictEqual(ran, inputs.filter((x) => ran.includes(x)));
      equal(await bottleneck.remote(7), 7);
    });
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("--max-memory-mb: an idle executor of another function makes room", async () => {
  const server = await startTestServer(["--max-memory-mb=100", "--default-memory-mb=64"]);
  useServer(server);
  try {
    const first = await heapA.remote();
    const second = await heapB.remote();
    notEqual(first, second);
    // heapB's executor could start only once heapA's had stopped: 64 + 64 MB is over the ceiling.
    deepStrictEqual(await executorsOf(server.dataDir), [second]);
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("one executor slot: a warm minimum gives way to a waiting call, and back", async () => {
  const server = await startTestServer(["--max-executors=1"]);
  useServer(server);
  try {
    // Registering the app starts `warm`'s minimum in the only slot; heapA must still get to run.
    equal(typeof await heapA.remote(), "number");
    equal(typeof await warm.remote(), "number");
    equal(typeof await heapA.remote(), "number");
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("a heap ceiling below one executor's heap is refused at start", async () => {
  await rejects(startTestServer(["--max-memory-mb=256"]), /--default-memory-mb 512 is over --max-memory-mb 256/);
});
