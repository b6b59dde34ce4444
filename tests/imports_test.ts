/** A function's module may import local modules and allowed npm packages, cached at registration. */
import { equal, rejects } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, checkNumber, greet } from "./fixtures/imports_app.ts";

Deno.test("a function imports a local module and an allowed npm package", async () => {
  const server = await startTestServer(["--npm-allow=is-number"]);
  useServer(server);
  try {
    equal(await greet.remote("server"), "hello, server");
    equal(await checkNumber.remote("12"), true);
    equal(await checkNumber.remote("twelve"), false);
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("an npm package the operator did not allow is refused at registration", async () => {
  const server = await startTestServer();
  useServer(server);
  try {
    await rejects(
      greet.remote("server"),
      (err: StupidModalError) =>
        err.code === Code.PERMISSION_DENIED && /"is-number"/.test(err.message) &&
        /--npm-allow=is-number/.test(err.message),
    );
  } finally {
    await app.close();
    await server.stop();
  }
});
