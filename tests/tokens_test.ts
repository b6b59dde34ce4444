/** Named tokens: scopes, per-token limits, revocation, ownership of spawned calls, and the audit log. */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startTestServer, type TestServer } from "./helpers/test_server.ts";

const fails = (code: Code, pattern: RegExp) => (err: StupidModalError) => {
  equal(err.code, code, err.message);
  match(err.message, pattern);
  return true;
};

Deno.test("tokens: scopes, limits, revocation, ownership and the audit log", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-test-" });
  let server: TestServer = await startTestServer([], { dataDir });
  const root = () => new Client({ server: server.address, token: server.token });
  const as = (token: string) => new Client({ server: server.address, token });
  const admin = root();
  const clients: Client[] = [admin];
  try {
    const v1 = await deployFixture(server, "tests/fixtures/versioned_v1.ts");
    await deployFixture(server, "tests/fixtures/versioned_v2.ts");
    await deployFixture(server, "tests/fixtures/durable_app.ts");
    const invokeToken = await admin.createToken("ci", ["invoke"], { maxConcurrentCalls: 2, maxQueuedInputs: 3 });
    match(invokeToken, /^smt_[\w-]{43}$/);
    const ci = as(invokeToken);
    const other = as(await admin.createToken("other", ["invoke"]));
    clients.push(ci, other);

    await t.step("an invoke token calls deployed apps and looks them up, and nothing more", async () => {
      equal(await ci.call({ appName: "versioned", functionName: "whoami" }, [1, 0]), "v2:1");
      equal((await ci.listApps("versioned")).apps[0].name, "versioned");
      await rejects(
        ci.call({ version: v1, functionName: "whoami" }, [1, 0]),
        fails(Code.PERMISSION_DENIED, /the token "ci" may call deployed apps only.*not the deployed one/),
      );
      await rejects(
        ci.deploy("versioned", v1),
        fails(Code.PERMISSION_DENIED, /"ci" has the scopes \[invoke\]; this needs "admin"/),
      );
      await rejects(ci.setSecret("x", { A: "b" }), fails(Code.PERMISSION_DENIED, /needs "admin"/));
      await rejects(ci.createToken("mine", ["admin"]), fails(Code.PERMISSION_DENIED, /needs "admin"/));
      await rejects(ci.listCalls(), fails(Code.PERMISSION_DENIED, /needs "admin"/));
    });

    await t.step("a spawned call is seen and cancelled by its token (and admins) only", async () => {
      const id = await ci.spawn({ appName: "durable", functionName: "work" }, ["mine", 0]);
      const got = await ci.getCall(id, 30_000);
      ok(got.done);
      await rejects(other.getCall(id, 0), fails(Code.NOT_FOUND, /no spawned call .* of the token "other"/));
      await rejects(other.cancelCall(id), fails(Code.NOT_FOUND, /of the token "other"/));
      ok((await admin.getCall(id, 0)).done);
      const [listed] = (await admin.listCalls("durable")).filter((call) => call.call_id === id);
      equal(listed.caller, "ci");
    });

    await t.step(
      "beyond a token's calls in flight or spawned inputs: RESOURCE_EXHAUSTED naming the limit",
      async () => {
        const slow = [1, 2].map((i) => ci.call({ appName: "versioned", functionName: "whoami" }, [i, 1_500]));
        await rejects(
          ci.call({ appName: "versioned", functionName: "whoami" }, [3, 0]),
          fails(
            Code.RESOURCE_EXHAUSTED,
            /the token "ci" has 2 calls in flight; its limit is 2 \(max_concurrent_calls\)/,
          ),
        );
        deepStrictEqual(await Promise.all(slow), ["v2:1", "v2:2"]);
        equal(await ci.call({ appName: "versioned", functionName: "whoami" }, [4, 0]), "v2:4", "room again");
        const inputs = (async function* () {
          for (let i = 0; i < 5; i++) yield [`batch ${i}`, 0];
        })();
        await rejects(
          ci.spawnMap({ appName: "durable", functionName: "work" }, inputs),
          fails(Code.RESOURCE_EXHAUSTED, /unfinished spawned inputs; its limit is 3 \(max_queued_inputs\)/),
        );
      },
    );

    await t.step(
      "tokens are listed without secrets, survive a restart, and a revoked one is refused at once",
      async () => {
        const listed = await admin.listTokens();
        deepStrictEqual(listed.map((token) => [token.name, token.scopes]), [["ci", ["invoke"]], ["other", ["invoke"]]]);
        ok(!JSON.stringify(listed).includes(invokeToken.slice(4)));
        ok(!server.output.join("\n").includes(invokeToken), "the server printed a token");
        for (const client of clients.splice(0)) client.close();
        await server.stop();
        server = await startTestServer([], { dataDir, token: server.token });
        const again = as(invokeToken);
        const adminAgain = root();
        clients.push(again, adminAgain);
        equal(await again.call({ appName: "versioned", functionName: "whoami" }, [5, 0]), "v2:5");
        await adminAgain.revokeToken("ci");
        await rejects(
          as(invokeToken).listApps(),
          fails(Code.UNAUTHENTICATED, /wrong token/),
        );
        await rejects(adminAgain.revokeToken("ci"), fails(Code.NOT_FOUND, /no token named "ci"/));
      },
    );

    await t.step("the audit log names who deployed, changed and invoked what", async () => {
      const adminAgain = clients[1];
      const entries = await adminAgain.listAudit(1_000);
      const has = (token: string, action: string, app = "", fn = "") =>
        entries.some((e) =>
          e.token === token && e.action === action && (!app || e.app_name === app) && (!fn || e.function === fn)
        );
      ok(has("root", "deploy", "versioned"), "deploys");
      ok(has("root", "register", "durable"), "registrations");
      ok(has("root", "token.create"), "token creation");
      ok(has("root", "token.revoke"), "token revocation");
      ok(has("ci", "spawn", "durable", "work"), "spawns");
      const invocations = entries.filter((e) => e.token === "ci" && e.action === "invoke" && e.function === "whoami");
      equal(
        invocations.reduce((sum, e) => sum + e.count, 0),
        5,
        "ci's calls that got in, counted (before and after the restart)",
      );
      deepStrictEqual(await adminAgain.listAudit(10, "nobody"), []);
    });

    await t.step("bad token requests are refused clearly", async () => {
      const adminAgain = clients[1];
      await rejects(adminAgain.createToken("root", ["admin"]), fails(Code.INVALID_ARGUMENT, /not "root"/));
      await rejects(
        adminAgain.createToken("x", ["superuser" as "admin"]),
        fails(Code.INVALID_ARGUMENT, /not "superuser"/),
      );
      await rejects(adminAgain.createToken("y", []), fails(Code.INVALID_ARGUMENT, /one or more scopes/));
      await rejects(adminAgain.createToken("other", ["invoke"]), fails(Code.ALREADY_EXISTS, /exists/));
    });
  } finally {
    for (const client of clients) client.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
