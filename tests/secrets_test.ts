/** Named secrets: seen by the functions that list them, and nowhere else — not in logs, errors or answers. */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { Client, type RemoteLogLine } from "../client.ts";
import { Code, type RemoteError, type StupidModalError } from "../mod.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startTestServer } from "./helpers/test_server.ts";

const value = "sk-live-4f9a1c2e77b3";

Deno.test("a secret reaches its function only, and never a log or an error", async (t) => {
  const server = await startTestServer();
  const lines: RemoteLogLine[] = [];
  const client = new Client({ server: server.address, token: server.token, onLog: (line) => lines.push(line) });
  const call = (functionName: string) => client.call({ appName: "secretive", functionName }, []);
  try {
    await t.step("deploying a function whose secret does not exist is refused, naming it", async () => {
      await rejects(
        deployFixture(server, "tests/fixtures/secret_app.ts"),
        /needs the secret "api", which does not exist/,
      );
    });

    await t.step("set, then listed by name and keys, never values", async () => {
      await client.setSecret("api", { API_KEY: value, REGION: "eu" });
      const [secret] = await client.listSecrets();
      equal(secret.name, "api");
      deepStrictEqual(secret.keys, ["API_KEY", "REGION"]);
      ok(!JSON.stringify(secret).includes(value));
      await deployFixture(server, "tests/fixtures/secret_app.ts");
    });

    await t.step("the function that lists it reads it, and nothing of the server's environment", async () => {
      deepStrictEqual(await call("withSecret"), { key: value, length: value.length, home: "NotCapable" });
      equal(await call("withoutSecret"), "NotCapable");
    });

    await t.step("its value is blotted out of the function's output and errors", async () => {
      ok(lines.some((line) => line.text === "the key is [secret]"), JSON.stringify(lines));
      await rejects(call("leaky"), (err: RemoteError) => {
        equal(err.message, "failed with key [secret]");
        ok(!err.stack?.includes(value));
        return true;
      });
    });

    await t.step("the app's logs and the server's output do not hold it; the store is owner-only", async () => {
      const logs = await Array.fromAsync(client.appLogs({ app_name: "secretive", tail: 100 }));
      ok(logs.some((entry) => entry.text === "the key is [secret]"));
      ok(!JSON.stringify(logs).includes(value));
      // Once the failed call's line is out, every line about the calls above is.
      await server.waitForLine(/failed with key \[secret\]/);
      ok(!server.output.join("\n").includes(value), "the server printed the value");
      const mode = (await Deno.stat(join(server.dataDir, "store.db"))).mode! & 0o777;
      equal(mode, 0o600, "the store is readable by the server's user only");
    });

    await t.step("a new value reaches the next call; a deleted secret is a clear failure", async () => {
      await client.setSecret("api", { API_KEY: "rotated-value" });
      equal(((await call("withSecret")) as { key: string }).key, "rotated-value");
      await client.deleteSecret("api");
      await rejects(call("withSecret"), (err: StupidModalError) => {
        equal(err.code, Code.FAILED_PRECONDITION);
        match(err.message, /needs the secret "api", which does not exist/);
        return true;
      });
      await rejects(client.deleteSecret("api"), /no secret named "api"/);
    });

    await t.step("bad names and keys are refused", async () => {
      await rejects(client.setSecret("bad name", { A: "b" }), /secret name "bad name"/);
      await rejects(client.setSecret("ok", { "1X": "b" }), /secret key "1X" is not an environment variable name/);
      await rejects(client.setSecret("ok", {}), /has no KEY=VALUE/);
    });
  } finally {
    client.close();
    await server.stop();
  }
});
