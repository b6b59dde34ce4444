/** spawn, spawnMap and FunctionCall: calls that outlive their callers, fetched by id. */
import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import { Code, FunctionCall, type StupidModalError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { add, app, slow, square } from "./fixtures/fanout_app.ts";

const callerPath = new URL("./fixtures/spawn_caller.ts", import.meta.url).pathname;

Deno.test("spawned calls", async (t) => {
  // A small queue: a batch bigger than it must still run whole.
  const server = await startTestServer(["--max-queued-inputs=20"]);
  useServer(server);
  const options = { server: server.address, token: server.token };
  try {
    await t.step("spawn returns a handle at once; get gives the result", async () => {
      const call = await add.spawn(1, 2);
      match(call.id, /^fc-/);
      equal(await call.get(), 3);
      equal(await FunctionCall.fromId<number>(call.id, options).get(), 3, "fetched again by id");
    });

    await t.step("a call spawned by a process that exited is fetched by id from another", async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", callerPath],
        env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token },
        stdout: "piped",
        stderr: "inherit",
      }).output();
      equal(output.code, 0);
      const id = new TextDecoder().decode(output.stdout).trim();
      match(id, /^fc-/);
      equal(await FunctionCall.fromId<string>(id, options).get(), "slept 300 ms");
    });

    await t.step("get with a timeout says DEADLINE_EXCEEDED; cancel ends the call", async () => {
      const call = await slow.spawnMap(Array.from({ length: 400 }, (_, i) => i));
      match(call.id, /^fm-/);
      await rejects(call.get({ timeoutMs: 50 }), (err: StupidModalError) => {
        equal(err.code, Code.DEADLINE_EXCEEDED);
        match(err.message, /did not finish within 50 ms \(\d+ of 400 inputs done\)/);
        return true;
      });
      await call.cancel();
      await rejects(call.get(), (err: StupidModalError) => err.code === Code.CANCELLED);
    });

    await t.step("spawnMap queues a batch far bigger than the queue; get gives every result in order", async () => {
      const batch = await square.spawnMap(Array.from({ length: 2_000 }, (_, i) => i));
      deepStrictEqual(await batch.get(), Array.from({ length: 2_000 }, (_, i) => i * i));
    });

    await t.step("an unknown id is NOT_FOUND", async () => {
      await rejects(
        FunctionCall.fromId("fc-00000000-0000-0000-0000-000000000000", options).get(),
        (err: StupidModalError) => err.code === Code.NOT_FOUND,
      );
    });
  } finally {
    await app.close();
    await server.stop();
  }
});
