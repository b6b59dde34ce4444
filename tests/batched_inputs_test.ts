/**
 * Executors of quick functions are given inputs ahead of time, in batches: a deadline, a crash or a
 * cancellation still concerns exactly its own input, inputs that had not started run elsewhere,
 * and a call's printed lines still arrive before its result.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import { bundleApp } from "../src/sdk/app_bundle.ts";
import { appFunctions } from "../src/sdk/function_registry.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, printsFirst, quickOrCrash, quickOrSpin } from "./fixtures/batched_app.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const none = -1;

Deno.test("batched inputs: failures stay with their input; the rest run, once, in order", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    await t.step("a spinning input times out alone; inputs given to its executor after it run elsewhere", async () => {
      // Quick inputs first, so the pool knows the function is quick and gives inputs ahead.
      deepStrictEqual(await Array.fromAsync(quickOrSpin.map(range(2000), range(2000).map(() => none))), range(2000));
      const results = await Array.fromAsync(
        quickOrSpin.map(range(3000), range(3000).map(() => 1500), { returnExceptions: true }),
      );
      const failed = results.flatMap((result, x) =>
        result instanceof Error ? [[x, (result as StupidModalError).code]] : []
      );
      deepStrictEqual(failed, [[1500, Code.DEADLINE_EXCEEDED]]);
      deepStrictEqual(results.filter((result) => !(result instanceof Error)), range(3000).filter((x) => x !== 1500));
    });

    await t.step("an input that runs out of memory fails alone", async () => {
      deepStrictEqual(await Array.fromAsync(quickOrCrash.map(range(2000), range(2000).map(() => none))), range(2000));
      const results = await Array.fromAsync(
        quickOrCrash.map(range(3000), range(3000).map(() => 1500), { returnExceptions: true }),
      );
      const failed = results.flatMap((result, x) =>
        result instanceof Error ? [[x, (result as StupidModalError).code]] : []
      );
      deepStrictEqual(failed, [[1500, Code.RESOURCE_EXHAUSTED]]);
    });

    await t.step("breaking out of a quick map cancels what is left; the pool serves on", async () => {
      let taken = 0;
      for await (const x of quickOrSpin.map(range(20_000), range(20_000).map(() => none))) {
        equal(x, taken++);
        if (taken === 5000) break;
      }
      deepStrictEqual(await Array.fromAsync(quickOrSpin.map(range(500), range(500).map(() => none))), range(500));
    });
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("batched inputs: every call's printed line arrives before its result", async () => {
  const server = await startTestServer();
  const heard = new Set<string>();
  const client = new Client({ server: server.address, token: server.token, onLog: (line) => heard.add(line.text) });
  try {
    const version = await client.registerApp(await bundleApp("batched-fixture", appFunctions("batched-fixture")));
    const target = { version, functionName: printsFirst.name };
    const early: number[] = [];
    await Promise.all(
      range(3000).map(async (x) => {
        equal(await client.call(target, [x]), x);
        if (!heard.has(`line ${x}`)) early.push(x);
      }),
    );
    deepStrictEqual(early, [], "results that came before their call's line");
    ok(heard.size === 3000);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});
