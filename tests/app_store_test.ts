/**
 * The app store on disk: a version registered twice at once (two callers shipping the same code)
 * keeps the folder published first, which executors may already be loading from.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { AppStore } from "../src/server/app_store.ts";
import { AppRecords } from "../src/store/app_records.ts";
import { Database } from "../src/store/database.ts";
import type { RegisterAppRequest } from "../src/wire/proto.ts";

const request: RegisterAppRequest = {
  app_name: "twice",
  version: "a".repeat(64),
  files: [{ path: "main.ts", content: new TextEncoder().encode("export const x = 1;\n") }],
  functions: [{
    name: "f",
    module: "main.ts",
    permissions: { read: [], write: [], net: [], env: [] },
    timeout_ms: 0,
    memory_mb: 0,
  }],
  source_root: "file:///home/u/twice/",
};

Deno.test("publishing a version already held leaves its folder alone and drops the second staging", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-store-test-" });
  const database = await Database.open(dataDir, (err) => {
    throw err;
  });
  try {
    const store = new AppStore(dataDir, new AppRecords(database));
    await store.load(() => Promise.resolve());
    // Both staged before either is published, as two registrations in flight are.
    const first = await store.stage(request);
    const second = await store.stage(request);
    const published = await store.publish(first, request.files);
    const liveDir = join(store.appsDir, request.version);
    // An executor of the first is loading from here: what it sees must not change.
    await Deno.writeTextFile(join(liveDir, "in-use"), "");
    const again = await store.publish(second, request.files);
    equal(again, published, "the version held is returned");
    ok((await Deno.stat(join(liveDir, "in-use"))).isFile, "the live folder was not replaced");
    ok((await Deno.stat(join(liveDir, "worker.ts"))).isFile);
    const left = [];
    for await (const entry of Deno.readDir(store.appsDir)) left.push(entry.name);
    deepStrictEqual(left, [request.version], "the second staging folder is gone");
  } finally {
    database.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
