/** Structured values round-trip through CBOR; values that cannot travel fail before sending. */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, byteSum, describe, echo, returnsInstance } from "./fixtures/values_app.ts";

Deno.test("structured values round-trip through a remote function", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    await t.step("each structured type arrives as itself", async () => {
      const value = {
        int8: new Int8Array([-1, 2]),
        float64: new Float64Array([1.5, -0.25]),
        bigints: new BigInt64Array([5n, -7n]),
        bytes: new Uint8Array([0, 255]),
        map: new Map<unknown, unknown>([["k", 1], [2, new Set(["nested"])]]),
        set: new Set([1, "two"]),
        date: new Date(1_700_000_000_123),
        small: 42n,
        huge: 2n ** 100n,
        negative: -(2n ** 70n),
        nothing: undefined,
        nil: null,
        nested: { deep: [{ deeper: [1, [2, [3]]] }] },
        text: "grüße ✓",
        pattern: /ab+c/gi,
      };
      deepStrictEqual(await echo.remote(value), value);
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      const back = await echo.remote(cyclic) as Record<string, unknown>;
      equal(back.self, back);
    });

    await t.step("the server sees the real types", async () => {
      equal(await describe.remote(new Map()), "[object Map]");
      equal(await describe.remote(new Set()), "[object Set]");
      equal(await describe.remote(new Date()), "[object Date]");
      equal(await describe.remote(new Float32Array(2)), "[object Float32Array]");
      equal(await describe.remote(1n), "[object BigInt]");
    });

    await t.step("a 50 MiB Uint8Array travels both ways", async () => {
      const big = new Uint8Array(50 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      let expected = big.length;
      for (let i = 0; i < big.length; i += 4096) expected += big[i];
      equal(await byteSum.remote(big), expected);
      const back = await echo.remote(big) as Uint8Array;
      equal(back.length, big.length);
      deepStrictEqual(back.subarray(0, 8192), big.subarray(0, 8192));
      equal(back[big.length - 4096], big[big.length - 4096]);
    });

    await t.step("functions and class instances fail before anything is sent", async () => {
      await rejects(
        echo.remote((() => 1) as unknown),
        (err: StupidModalError) =>
          err.code === Code.INVALID_ARGUMENT && /arguments\[0\] is a function/.test(err.message),
      );
      await rejects(
        echo.remote({ when: new URL("https://example.com") } as unknown),
        (err: StupidModalError) =>
          err.code === Code.INVALID_ARGUMENT && /arguments\[0\]\.when is an instance of URL/.test(err.message),
      );
    });

    await t.step("a result that cannot travel is a clear error", async () => {
      await rejects(
        returnsInstance.remote(),
        (err: StupidModalError) =>
          err.code === Code.INVALID_ARGUMENT && /result is an instance of URL/.test(err.message),
      );
      ok(await echo.remote("still serving"));
    });
  } finally {
    await app.close();
    await server.stop();
  }
});
