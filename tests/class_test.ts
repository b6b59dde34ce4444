/** app.cls: one instance per executor, entered once, exited on scale-down and shutdown. */
import { equal, notEqual, rejects } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, Counter, exitMarks } from "./fixtures/class_app.ts";

async function waitForFile(path: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text !== undefined) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} never appeared`);
}

Deno.test("a class's instance lives in its executor", async (t) => {
  await Deno.remove(exitMarks, { recursive: true }).catch(() => {});
  await Deno.mkdir(exitMarks);
  const server = await startTestServer([`--grant-write=${exitMarks}`, "--scaledown-ms=1000"]);
  useServer(server);
  try {
    let defaultPid = 0;
    await t.step("enter runs once; every call reaches the same instance", async () => {
      for (let i = 1; i <= 20; i++) {
        const state = await Counter.remote.bump(1);
        equal(state.enters, 1, "enter ran once");
        equal(state.calls, i);
        defaultPid = state.pid;
      }
    });

    await t.step("constructor parameters select an instance of their own", async () => {
      const ten = await Counter.with(10).remote.bump(1);
      equal(ten.start, 10);
      equal(ten.calls, 11);
      notEqual(ten.pid, defaultPid, "another executor");
      equal((await Counter.with(10).remote.bump(1)).pid, ten.pid, "the same parameters, the same instance");
    });

    await t.step("awaiting the handle itself is harmless (it is not a promise)", async () => {
      const remote = Counter.remote;
      equal(await (remote as unknown as Promise<unknown>), remote);
    });

    await t.step("an unknown method is NOT_FOUND; the instance lives on", async () => {
      const methods = Counter.remote as unknown as Record<string, () => Promise<unknown>>;
      await rejects(methods.nothing(), (err: StupidModalError) => err.code === Code.NOT_FOUND);
      equal(methods.enter, undefined, "lifecycle hooks are not methods to call");
      equal((await Counter.remote.bump(1)).calls, 21);
    });

    await t.step("exit runs when an idle executor scales down", async () => {
      equal(await waitForFile(`${exitMarks}/exit-${defaultPid}`), "21");
    });

    await t.step("exit runs at shutdown", async () => {
      const { pid } = await Counter.with(5).remote.bump(2);
      await app.close();
      await server.stop();
      equal(await waitForFile(`${exitMarks}/exit-${pid}`), "2");
    });
  } finally {
    await app.close();
    await server.stop().catch(() => {});
    await Deno.remove(exitMarks, { recursive: true }).catch(() => {});
  }
});
