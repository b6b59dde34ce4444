/**
 * Large byte arrays (arguments beside primitives, results, generator items) travel by reference
 * into their messages and frames, over a MiB in pieces, and arrive exact; other values as ever.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, describe, Flipper, pieces, reverse } from "./fixtures/large_app.ts";

const patterned = (length: number) => new Uint8Array(length).map((_, i) => (i * 7 + 3) % 251);

Deno.test("large byte arrays arrive exact", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    const bytes = patterned(3 * 1024 * 1024 + 5);
    await t.step("as the result", async () => {
      deepStrictEqual(await reverse.remote(bytes), bytes.slice().reverse());
    });
    await t.step("as an argument beside strings, numbers and null", async () => {
      equal(
        await describe.remote("ünïcode", bytes, 123_457, null),
        `ünïcode:${bytes.byteLength}:${bytes[123_457]}:null`,
      );
      const view = bytes.subarray(1000, 1000 + 200_000);
      equal(await describe.remote("view", view, 5, true), `view:200000:${view[5]}:true`);
    });
    await t.step("many at once in both directions, in pieces, each exact", async () => {
      const inputs = [0, 1, 2, 3, 4, 5].map((shift) => patterned(2 * 1024 * 1024 + shift * 4099));
      const results = await Array.fromAsync(reverse.map(inputs, { orderOutputs: false }));
      deepStrictEqual(
        results.map((result) => result.byteLength).sort(),
        inputs.map((input) => input.byteLength).sort(),
      );
      for (const result of results) {
        deepStrictEqual(result, inputs.find((input) => input.byteLength === result.byteLength)!.slice().reverse());
      }
    });
    await t.step("a map left early drops the pieces still to send, and the next calls go through", async () => {
      const inputs = Array.from({ length: 8 }, (_, i) => patterned(3 * 1024 * 1024 + i));
      for await (const first of reverse.map(inputs)) {
        equal(first.byteLength, inputs[0].byteLength);
        break;
      }
      equal(await describe.remote("after", bytes, 9, false), `after:${bytes.byteLength}:${bytes[9]}:false`);
      deepStrictEqual(await reverse.remote(bytes), bytes.slice().reverse());
    });
    await t.step("to and from a class's method", async () => {
      deepStrictEqual(await Flipper.with(0x0f).remote.flip(bytes), bytes.map((byte) => byte ^ 0x0f));
    });
    await t.step("as the items of a generator", async () => {
      const got = await Array.fromAsync(pieces.remoteGen(bytes, 1024 * 1024));
      deepStrictEqual(got.map((piece) => piece.byteLength), [1024 * 1024, 1024 * 1024, 1024 * 1024, 5]);
      deepStrictEqual(got[2], bytes.subarray(2 * 1024 * 1024, 3 * 1024 * 1024));
    });
  } finally {
    await app.close();
    await server.stop();
  }
});
