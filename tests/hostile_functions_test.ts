/** Hostile and broken functions each get a clear error, and the server keeps serving. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, RemoteError, type StupidModalError } from "../mod.ts";
import { appVersion } from "../src/wire/app_version.ts";
import type { FunctionSpec, SourceFile } from "../src/wire/proto.ts";
import { executorsOf, startTestServer, useServer } from "./helpers/test_server.ts";
import {
  app,
  bomb,
  corruptsFrames,
  exits,
  forgesFrames,
  importsAnything,
  oddError,
  ping,
  snoop,
  spin,
  strayRejection,
} from "./fixtures/hostile_app.ts";
import { app as greedyApp, readsEtc } from "./fixtures/greedy_app.ts";

const hasCode = (code: Code, pattern: RegExp) => (err: StupidModalError) => {
  equal(err.code, code, `code of: ${err.message}`);
  match(err.message, pattern);
  return true;
};

Deno.test("hostile functions fail alone and the server keeps serving", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    await t.step("a busy loop past its timeout gets DEADLINE_EXCEEDED; other calls go on", async () => {
      equal(await ping.remote(), "pong");
      const before = await executorsOf(server.dataDir);
      const stuck = spin.remote(true);
      // While one executor spins, another function's calls are served.
      for (let i = 0; i < 5; i++) equal(await ping.remote(), "pong");
      const spinning = (await executorsOf(server.dataDir)).filter((pid) => !before.includes(pid));
      equal(spinning.length, 1, "one executor runs the busy loop");
      await rejects(stuck, hasCode(Code.DEADLINE_EXCEEDED, /timeout of 1000 ms/));
      ok(!(await executorsOf(server.dataDir)).includes(spinning[0]), "the spinning executor was killed");
      equal(await spin.remote(false), "returned");
    });

    await t.step("a memory bomb gets RESOURCE_EXHAUSTED and its executor is replaced", async () => {
      await rejects(bomb.remote(true), hasCode(Code.RESOURCE_EXHAUSTED, /out of memory.*64 MB/));
      equal(await bomb.remote(false), "survived");
    });

    await t.step("Deno.exit() inside a function is an error, not an exit", async () => {
      await rejects(exits.remote(), (err: RemoteError) => {
        ok(err instanceof RemoteError);
        equal(err.remoteName, "ExitError");
        match(err.message, /Deno\.exit\(3\)/);
        return true;
      });
    });

    await t.step("an unhandled rejection fails the call that caused it", async () => {
      await rejects(strayRejection.remote(), (err: RemoteError) => {
        ok(err instanceof RemoteError);
        equal(err.message, "nobody handles this");
        return true;
      });
    });

    await t.step("reading a path the function did not ask for is denied", async () => {
      await rejects(snoop.remote("/etc/hostname"), (err: RemoteError) => {
        ok(err instanceof RemoteError);
        equal(err.remoteName, "NotCapable");
        match(err.message, /read access to "\/etc\/hostname".*permissions\.read/);
        return true;
      });
      await rejects(snoop.remote(`${server.dataDir}/token`), (err: RemoteError) => err.remoteName === "NotCapable");
    });

    await t.step("a computed import of the server's stored app files is denied", async () => {
      const stored = [];
      for await (const entry of Deno.readDir(`${server.dataDir}/apps`)) stored.push(entry.name);
      ok(stored.length > 0);
      const meta = `file://${server.dataDir}/apps/${stored[0]}/meta.json`;
      await rejects(importsAnything.remote(meta), (err: RemoteError) => {
        ok(err instanceof RemoteError);
        match(err.message, /read access/);
        return true;
      });
    });

    await t.step("a function asking for more than the server grants is refused at registration", async () => {
      await rejects(readsEtc.remote(), hasCode(Code.PERMISSION_DENIED, /read access to "\/etc".*--grant-read=\/etc/));
    });

    await t.step("an odd error or forged frames from a function cannot crash the server", async () => {
      await rejects(oddError.remote(), hasCode(Code.INVALID_ARGUMENT, /^42$/));
      // What a function posts reaches only its executor's main thread, which passes on printed lines alone.
      equal(await forgesFrames.remote(), "forged");
      await rejects(corruptsFrames.remote(), hasCode(Code.INTERNAL, /malformed frame/));
      equal(await ping.remote(), "pong");
    });

    await t.step("the server still serves", async () => {
      equal(await ping.remote(), "pong");
    });
  } finally {
    await app.close();
    await greedyApp.close();
    await server.stop();
  }
});

Deno.test("shipped code that does not parse is refused at registration", async () => {
  const server = await startTestServer();
  const client = new Client({ server: server.address, token: server.token });
  try {
    const files: SourceFile[] = [{
      path: "broken.ts",
      content: new TextEncoder().encode(
        'import { App } from "stupid-modal";\nexport const f = new App("broken").function({}, function f() {\n  return (;\n});\n',
      ),
    }];
    const functions: FunctionSpec[] = [{
      name: "f",
      module: "broken.ts",
      permissions: { read: [], write: [], net: [], env: [] },
      timeout_ms: 0,
      memory_mb: 0,
    }];
    const request = {
      app_name: "broken",
      version: await appVersion("broken", files, functions),
      files,
      functions,
      source_root: "file:///home/user/broken/",
    };
    await rejects(
      client.registerApp(request),
      hasCode(Code.INVALID_ARGUMENT, /does not load.*file:\/\/\/home\/user\/broken\/broken\.ts/s),
    );
    useServer(server);
    equal(await ping.remote(), "pong");
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});
