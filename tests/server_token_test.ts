/** Without STUPID_MODAL_TOKEN the server makes a token, keeps it owner-only, and prints it once. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import { startTestServer } from "./helpers/test_server.ts";

Deno.test("a generated token is written owner-only, printed once, and kept across restarts", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-token-" });
  try {
    const first = await startTestServer([], { token: null, dataDir });
    const token = first.token;
    try {
      match(token, /^[\w-]{43}$/);
      equal((await Deno.readTextFile(`${dataDir}/token`)).trim(), token);
      equal((await Deno.stat(`${dataDir}/token`)).mode! & 0o777, 0o600);
      const client = new Client({ server: first.address, token });
      const check = await client.registerApp({
        app_name: "none",
        version: "0".repeat(64),
        files: [],
        functions: [],
        source_root: "file:///x/",
      }).catch((err: StupidModalError) => err);
      // Authenticated: the request gets past the token check and fails on its content.
      equal((check as StupidModalError).code, Code.INVALID_ARGUMENT);
      client.close();
    } finally {
      await first.stop();
    }
    const second = await startTestServer([], { token: null, dataDir });
    try {
      ok(!second.output.some((line) => line.includes(token)), "the kept token is not printed again");
      const client = new Client({ server: second.address, token });
      await rejects(
        client.registerApp({ app_name: "none", version: "0".repeat(64), files: [], functions: [], source_root: "x" }),
        (err: StupidModalError) => err.code === Code.INVALID_ARGUMENT,
      );
      client.close();
      const wrong = new Client({ server: second.address, token: token + "x" });
      await rejects(
        wrong.registerApp({ app_name: "none", version: "0".repeat(64), files: [], functions: [], source_root: "x" }),
        (err: StupidModalError) => err.code === Code.UNAUTHENTICATED,
      );
      wrong.close();
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
