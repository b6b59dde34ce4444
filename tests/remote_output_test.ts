/** Remote console output reaches the caller while the call runs; exceptions come back as RemoteError. */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { RemoteError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, chatty, fails, received } from "./fixtures/output_app.ts";

Deno.test("console output of a remote function streams to the caller, marked remote", async () => {
  const server = await startTestServer();
  useServer(server);
  try {
    received.length = 0;
    equal(await chatty.remote(3), 3);
    deepStrictEqual(received.map((line) => [line.function, line.stream, line.text]), [
      ["chatty", "stdout", "line 0"],
      ["chatty", "stdout", "line 1"],
      ["chatty", "stdout", "line 2"],
      ["chatty", "stderr", "to stderr { n: 3 }"],
    ]);
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("a thrown error comes back as RemoteError with the user's stack and cause", async () => {
  const server = await startTestServer();
  useServer(server);
  try {
    const err = await fails.remote().then(() => undefined, (reason) => reason);
    ok(err instanceof RemoteError, `expected RemoteError, got ${err}`);
    equal(err.remoteName, "TypeError");
    equal(err.message, "the model is not ready");
    const fixture = new URL("./fixtures/output_app.ts", import.meta.url).href;
    ok(err.remoteStack.includes(`${fixture}:`), `stack names the caller's file:\n${err.remoteStack}`);
    ok(!err.remoteStack.includes(server.dataDir), "stack shows no server-side paths");
    ok(err.cause instanceof RemoteError, "cause is carried");
    equal(err.cause.remoteName, "RangeError");
    equal(err.cause.message, "weights missing");
  } finally {
    await app.close();
    await server.stop();
  }
});
