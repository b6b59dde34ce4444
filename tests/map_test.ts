/** map, starmap and forEach: order, backpressure, errors, and cancellation of what is left. */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { RemoteError } from "../mod.ts";
import { servedLines, succeeded } from "./helpers/served_inputs.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { add, app, failsOn, slow, square } from "./fixtures/fanout_app.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function* countUp(limit = Infinity): AsyncGenerator<number> {
  for (let i = 0; i < limit; i++) yield i;
}

Deno.test("map, starmap and forEach", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    await t.step("an ordered map over 10 000 inputs returns exact results in order", async () => {
      const results = await Array.fromAsync(square.map(range(10_000)));
      deepStrictEqual(results, range(10_000).map((x) => x * x));
    });

    await t.step("an unordered map over 10 000 inputs returns every result once", async () => {
      const results = await Array.fromAsync(square.map(range(10_000), { orderOutputs: false }));
      deepStrictEqual(results.sort((a, b) => a - b), range(10_000).map((x) => x * x));
    });

    await t.step("iterables are zipped, async ones too, up to the shortest", async () => {
      const sums = await Array.fromAsync(add.map(countUp(), [10, 20, 30]));
      deepStrictEqual(sums, [10, 21, 32]);
    });

    await t.step("starmap takes argument arrays; forEach runs everything", async () => {
      deepStrictEqual(await Array.fromAsync(add.starmap([[1, 2], [3, 4]])), [3, 7]);
      await add.forEach([1, 2, 3], [4, 5, 6]);
    });

    await t.step("returnExceptions yields an input's error in its place", async () => {
      const results = await Array.fromAsync(failsOn.map([1, 2, 3], [2, 2, 2], { returnExceptions: true }));
      equal(results[0], 1);
      ok(results[1] instanceof RemoteError);
      equal((results[1] as RemoteError).message, "input 2 is bad");
      equal(results[2], 3);
    });

    await t.step("the server logs a map's successes in summary lines and each failure on its own", async () => {
      // A single call's line fences off what earlier steps printed (lines arrive in order).
      const singleOk = /^call fanout-fixture\.failsOn \S+ ok$/;
      const start = server.output.length;
      equal(await failsOn.remote(1, 0), 1);
      const before = server.output.indexOf(await server.waitForLine(singleOk, start), start) + 1;
      const bad = range(300).map((x) => x % 3 === 0 ? x : -1);
      const results = await Array.fromAsync(failsOn.map(range(300), bad, { returnExceptions: true }));
      equal(results.filter((result) => result instanceof RemoteError).length, 100);
      // A single call after the map has a line of its own; once it is read, so are the map's lines.
      const after = server.output.length;
      equal(await failsOn.remote(7, 0), 7);
      await server.waitForLine(singleOk, after);
      const { calls, summaries } = servedLines(server.output.slice(before), "fanout-fixture.failsOn");
      ok(calls.pop()?.endsWith(" ok"), "the single call's line comes last");
      equal(calls.length, 100, "a line for each failed input");
      ok(calls.every((line) => / UNKNOWN: RangeError: input \d+ is bad$/.test(line)), calls.join("\n"));
      ok(summaries.length >= 1 && summaries.length < 200, `${summaries.length} summary lines`);
      equal(succeeded(server.output.slice(before), "fanout-fixture.failsOn"), 200 + 1, summaries.join("\n"));
    });

    await t.step("without returnExceptions an error ends the map", async () => {
      await rejects(Array.fromAsync(failsOn.map(range(50), range(50).map(() => 5))), /input 5 is bad/);
    });

    await t.step("a slow consumer holds the inputs back: never more than maxOutstanding ahead", async () => {
      let pulled = 0;
      async function* counted() {
        for (let i = 0; i < 200; i++) {
          pulled++;
          yield i;
        }
      }
      let consumed = 0;
      let maxAhead = 0;
      for await (const _ of square.map(counted(), { maxOutstanding: 10 })) {
        consumed++;
        maxAhead = Math.max(maxAhead, pulled - consumed);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      equal(consumed, 200);
      ok(maxAhead <= 10, `inputs ran ${maxAhead} ahead of the consumer`);
    });

    await t.step("an input iterator that throws ends the map with its error", async () => {
      async function* breaksAt3() {
        yield* [1, 2, 3];
        throw new Error("the input source broke");
      }
      await rejects(Array.fromAsync(square.map(breaksAt3())), /the input source broke/);
    });

    await t.step("breaking out of an endless map cancels the rest on the server", async () => {
      const taken: number[] = [];
      // 200 inputs wait on the server when the loop breaks; without cancellation they would all run.
      for await (const x of slow.map(countUp(), { maxOutstanding: 200 })) {
        taken.push(x);
        if (taken.length === 10) break;
      }
      deepStrictEqual(taken, range(10));
      // One more call, queued behind whatever the map left: once it is answered, every input the
      // map sent has run or been cancelled.
      equal(await slow.remote(-1), -1);
      const ran = succeeded(server.output, "fanout-fixture.slow");
      // At most: the 10 taken, what 4 executors finish meanwhile (four rounds, slack for a loaded
      // machine), and the extra call; far below the 210 that run without cancellation.
      ok(ran <= 10 + 16 + 1, `${ran} inputs ran after the map was stopped`);
    });
  } finally {
    await app.close();
    await server.stop();
  }
});
