/**
 * Large byte arrays (arguments beside primitives, results, generator items) travel by reference
 * into their messages and frames, and arrive exact; other values as ever.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, describe, pieces, reverse } from "./fixtures/large_app.ts";

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
