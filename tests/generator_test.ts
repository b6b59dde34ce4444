/** Generators stream what they yield, with backpressure; errors and early exits behave. */
import { deepStrictEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { RemoteError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, breaksAfterTwo, countTo, plain, received } from "./fixtures/generator_app.ts";

Deno.test("generator functions", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    await t.step("1 000 values stream in order to a caller slower than the producer, never far ahead", async () => {
      received.length = 0;
      let expected = 0;
      let maxLead = 0;
      for await (const value of countTo.remoteGen(1_000)) {
        equal(value, expected++);
        // Announced before each yield and delivered in order with the items: how far ahead it ran.
        const announced = received.filter((line) => line.text.startsWith("yielding")).length;
        maxLead = Math.max(maxLead, announced - expected);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      equal(expected, 1_000);
      ok(maxLead <= 64 + 8, `the producer ran ${maxLead} items ahead of the caller`);
    });

    await t.step("an error after some values ends the loop with a RemoteError", async () => {
      const seen: string[] = [];
      await rejects(
        (async () => {
          for await (const value of breaksAfterTwo.remoteGen()) seen.push(value);
        })(),
        (err: RemoteError) => err instanceof RemoteError && err.message === "the source dried up",
      );
      deepStrictEqual(seen, ["a", "b"]);
    });

    await t.step("breaking out early cancels the generator; the server keeps serving", async () => {
      const taken: number[] = [];
      for await (const value of countTo.remoteGen(1_000_000)) {
        taken.push(value);
        if (taken.length === 5) break;
      }
      deepStrictEqual(taken, [0, 1, 2, 3, 4]);
      await server.waitForLine(/call generator-fixture\.countTo .* CANCELLED/);
      deepStrictEqual(await Array.fromAsync(countTo.remoteGen(3)), [0, 1, 2]);
    });

    await t.step("remote() on a generator, and remoteGen() on a plain function, say what to use", async () => {
      await rejects(countTo.remote(1), /countTo is a generator function: iterate countTo\.remoteGen/);
      throws(() => plain.remoteGen(), /plain is not a generator function: call plain\.remote/);
    });
  } finally {
    await app.close();
    await server.stop();
  }
});
