/**
 * The one-minute soak (tests/soak/soak.ts; `deno task soak` runs it longer): mixed load from caller
 * processes that come and go; every input gets exactly one outcome, memory and open files stay
 * flat, no executor is orphaned or left behind.
 */
import { deepStrictEqual } from "node:assert/strict";
import { soak } from "./soak/soak.ts";

Deno.test("soak: one minute of mixed load, every input one outcome, flat memory and files", async () => {
  const { lines, failures } = await soak({
    seconds: Number(Deno.env.get("SOAK_SECONDS") ?? 60),
    callers: 4,
    loops: 8,
    callerSeconds: 20,
    seed: 1,
    serverHeapMb: 256,
    log: () => {},
  });
  console.log(lines.join("\n"));
  deepStrictEqual(failures, []);
});
