/** A server that cannot be reached is a clear UNAVAILABLE naming the address, not a hang. */
import { equal, match, rejects } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { app, nothing } from "./fixtures/unreachable_app.ts";

Deno.test("calling an unreachable server fails with UNAVAILABLE and says where it tried", async () => {
  try {
    await rejects(nothing.remote(), (err: StupidModalError) => {
      equal(err.code, Code.UNAVAILABLE);
      match(err.message, /cannot reach the server at 127\.0\.0\.1:1/);
      match(err.message, /STUPID_MODAL_SERVER/);
      return true;
    });
  } finally {
    await app.close();
  }
});
