/** Registration reads nothing outside the app, writes nothing outside its folder, and loads with a deadline. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import { appVersion } from "../src/wire/app_version.ts";
import type { FunctionSpec, RegisterAppRequest } from "../src/wire/proto.ts";
import { startTestServer } from "./helpers/test_server.ts";

const encoder = new TextEncoder();

async function request(files: Record<string, string>, functions: Partial<FunctionSpec>[]): Promise<RegisterAppRequest> {
  const shipped = Object.entries(files).map(([path, text]) => ({ path, content: encoder.encode(text) }));
  const specs = functions.map((fn) => ({
    name: "f",
    module: "main.ts",
    permissions: { read: [], write: [], net: [], env: [] },
    timeout_ms: 0,
    memory_mb: 0,
    ...fn,
  }));
  return {
    app_name: "safety",
    version: await appVersion("safety", shipped, specs),
    files: shipped,
    functions: specs,
    source_root: "file:///home/user/safety/",
  };
}

const define =
  'import { App } from "stupid-modal";\nexport const f = new App("safety").function({}, function f() { return 1; });\n';

Deno.test("registration refuses sneaky imports, unsafe paths and clashing files, and leaves nothing behind", async (t) => {
  const server = await startTestServer();
  const client = new Client({ server: server.address, token: server.token });
  const refused = (code: Code, pattern: RegExp) => (err: StupidModalError) => {
    equal(err.code, code, err.message);
    match(err.message, pattern);
    ok(!err.message.includes("root:x:0:0"), "no content of a server file in the answer");
    return true;
  };
  try {
    await t.step("imports hidden from a regular expression are still found", async () => {
      for (
        const source of [
          'import/**/"/etc/passwd";\n',
          'const quote = /"/; import x from "/etc/passwd";\n',
          'const s = "/*"; import "/etc/passwd"; // */\n',
          "const m = await import(`/etc/passwd`);\n",
        ]
      ) {
        await rejects(
          client.registerApp(await request({ "main.ts": define + source }, [{}])),
          refused(Code.INVALID_ARGUMENT, /imports "\/etc\/passwd"/),
        );
      }
    });

    await t.step("paths with quotes, newlines or other odd characters are refused", async () => {
      const odd = 'x.ts";globalThis.INJECTED=1;import"./x.ts';
      await rejects(
        client.registerApp(await request({ "main.ts": define, [odd]: "export {};" }, [{ module: odd }])),
        refused(Code.INVALID_ARGUMENT, /must be relative and stay inside the app/),
      );
    });

    await t.step("a file that is also another file's folder is refused, and no staging folder is left", async () => {
      await rejects(
        client.registerApp(await request({ "main.ts": define, "a.ts": "", "a.ts/b.ts": "" }, [{}])),
        refused(Code.INVALID_ARGUMENT, /shipped both as a file and as the folder/),
      );
      const left = [];
      for await (const entry of Deno.readDir(`${server.dataDir}/apps`)) left.push(entry.name);
      equal(left.length, 0, `apps folder holds ${left.join(", ")}`);
    });

    await t.step("a module whose top level never finishes fails its call at the deadline", async () => {
      const version = await client.registerApp(
        await request({ "main.ts": define + "while (true) { /* never loads */ }\n" }, [{ timeout_ms: 500 }]),
      );
      await rejects(
        client.call({ version, functionName: "f" }, []),
        refused(Code.DEADLINE_EXCEEDED, /did not finish loading within 500 ms/),
      );
    });

    await t.step("timeouts and heaps beyond the operator's caps are refused, naming the flag", async () => {
      await rejects(
        client.registerApp(await request({ "main.ts": define }, [{ timeout_ms: 2 ** 31 }])),
        refused(Code.INVALID_ARGUMENT, /at most 86400000 ms \(--max-timeout-ms\)/),
      );
      await rejects(
        client.registerApp(await request({ "main.ts": define }, [{ memory_mb: 100_000 }])),
        refused(Code.INVALID_ARGUMENT, /16 to 4096 MB \(--max-function-memory-mb\)/),
      );
    });

    await t.step("a shipped JSON module that is not JSON is refused when registered", async () => {
      const main = define + 'import data from "./data.json" with { type: "json" };\nexport const size = data.length;\n';
      await rejects(
        client.registerApp(await request({ "main.ts": main, "data.json": "{ not json" }, [{}])),
        refused(Code.INVALID_ARGUMENT, /does not load.*data\.json/s),
      );
    });

    await t.step("code that parses but cannot load fails its first call, naming the cause", async () => {
      const main = define + 'import { missing } from "./other.ts";\nexport const use = missing;\n';
      const version = await client.registerApp(
        await request({ "main.ts": main, "other.ts": "export const present = 1;\n" }, [{}]),
      );
      await rejects(
        client.call({ version, functionName: "f" }, []),
        refused(Code.FAILED_PRECONDITION, /the app failed to load: .*does not provide an export named 'missing'/),
      );
    });

    await t.step("the server still registers and runs a good app", async () => {
      const version = await client.registerApp(await request({ "main.ts": define }, [{}]));
      equal(await client.call({ version, functionName: "f" }, []), 1);
    });
  } finally {
    client.close();
    await server.stop();
  }
});
