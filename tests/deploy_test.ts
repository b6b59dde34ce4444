/** Deploy by name, lookup from another process, redeploy while a map runs, stop. */
import { deepStrictEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, lookup, type StupidModalError } from "../mod.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startTestServer } from "./helpers/test_server.ts";

type WhoAmI = (i: number, ms: number) => string;

Deno.test("deploy, look up, redeploy during a map, stop", async (t) => {
  const server = await startTestServer();
  const options = { server: server.address, token: server.token };
  const client = new Client(options);
  try {
    let v1 = "";
    await t.step("a deployed function is looked up by name in another process and called", async () => {
      v1 = await deployFixture(server, "tests/fixtures/versioned_v1.ts");
      match(v1, /^[0-9a-f]{64}$/);
      const whoami = await lookup<WhoAmI>("versioned", "whoami", options);
      try {
        equal(await whoami.remote(7, 0), "v1:7");
        await rejects(whoami.local(7, 0), /has no local implementation here; use \.remote\(\)/);
      } finally {
        whoami.close();
      }
      const [app] = (await client.listApps("versioned")).apps;
      equal(app.version, v1);
      equal(app.state, 0);
      equal(app.deploy_count, 1);
      deepStrictEqual(app.functions.map((fn) => fn.name), ["whoami"]);
    });

    await t.step(
      "redeploying changed code during a map: no input is lost, later ones run the new version",
      async () => {
        const whoami = await lookup<WhoAmI>("versioned", "whoami", options);
        const total = 60;
        const results: string[] = [];
        let v2 = "";
        try {
          const inputs = Array.from({ length: total }, (_, i) => i);
          for await (const result of whoami.map(inputs, inputs.map(() => 20), { maxOutstanding: 4 })) {
            results.push(result);
            // Deploy once a few results are in; the map goes on meanwhile (inputs already sent finish on v1).
            if (results.length === 5) v2 = await deployFixture(server, "tests/fixtures/versioned_v2.ts");
          }
        } finally {
          whoami.close();
        }
        notEqual(v2, v1);
        equal(results.length, total);
        results.forEach((result, i) => match(result, new RegExp(`^v[12]:${i}$`), `input ${i}`));
        equal(results[0], "v1:0");
        equal(results.at(-1), `v2:${total - 1}`);
        const switched = results.findIndex((result) => result.startsWith("v2"));
        ok(results.slice(switched).every((result) => result.startsWith("v2")), "no input went back to v1");
        const [app] = (await client.listApps("versioned")).apps;
        equal(app.version, v2);
        equal(app.deploy_count, 2);
      },
    );

    await t.step("a call running on the old version when a new one deploys finishes there", async () => {
      // The app's versions are v1 and v2 by now; v1 stays callable by its hash, as running calls need.
      const slow = client.call({ version: v1, functionName: "whoami" }, [1, 600]);
      await deployFixture(server, "tests/fixtures/versioned_v1.ts");
      equal(await slow, "v1:1");
    });

    await t.step("a stopped app refuses calls by name with a clear error; deploying again starts it", async () => {
      await client.stopApp("versioned");
      equal((await client.listApps("versioned")).apps[0].state, 1);
      await rejects(client.call({ appName: "versioned", functionName: "whoami" }, [1, 0]), (err: StupidModalError) => {
        equal(err.code, Code.FAILED_PRECONDITION);
        match(err.message, /app "versioned" is stopped; deploy it again/);
        return true;
      });
      await deployFixture(server, "tests/fixtures/versioned_v2.ts");
      equal(await client.call({ appName: "versioned", functionName: "whoami" }, [2, 0]), "v2:2");
    });

    await t.step("looking up what is not deployed is NOT_FOUND", async () => {
      await rejects(lookup("nope", "whoami", options), (err: StupidModalError) => {
        equal(err.code, Code.NOT_FOUND);
        match(err.message, /app "nope" is not deployed/);
        return true;
      });
      await rejects(lookup("versioned", "nope", options), /app "versioned" has no function "nope" \(it has: whoami\)/);
      await rejects(client.deploy("versioned", "0".repeat(64)), /no version 0{64} of app "versioned"/);
    });
  } finally {
    client.close();
    await server.stop();
  }
});
