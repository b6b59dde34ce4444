/**
 * One caller process of the soak: for the given number of seconds, several loops each pick an
 * operation at random (quick, slow, failing and timing-out calls, maps with and without failures,
 * spawns, batches, a generator) with inputs whose ids are unique, and check each outcome against
 * what its function does. Prints one JSON report line at the end.
 *
 * Usage: soak_caller.ts <caller-name> <seconds> <seed> <loops>
 */
import { Code, RemoteError, StupidModalError } from "../../mod.ts";
import { app, failing, maybe, quick, repeat, slow, timingOut } from "../fixtures/soak_app.ts";

const [name, secondsArg, seedArg, loopsArg] = Deno.args;
const deadline = Date.now() + Number(secondsArg) * 1000;
let seed = Number(seedArg) >>> 0;

/** mulberry32, seeded per caller. */
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (below: number) => Math.floor(random() * below);

/** What the report says. */
export interface CallerReport {
  caller: string;
  /** Operations started, by kind. */
  calls: Record<string, number>;
  /** Inputs sent, by function. */
  inputs: Record<string, number>;
  /** Outcomes, by kind ("ok", "RemoteError", "DEADLINE_EXCEEDED", or "unexpected …"). */
  outcomes: Record<string, number>;
  /** Ids with more than one outcome, and ids sent with none. */
  duplicates: number;
  missing: number;
  /** The first unexpected outcomes, described. */
  unexpected: string[];
}

const calls: Record<string, number> = {};
const inputs: Record<string, number> = {};
const outcomes: Record<string, number> = {};
const seen = new Map<string, number>();
const sent = new Set<string>();
const unexpected: string[] = [];
let nextId = 0;

const bump = (table: Record<string, number>, key: string, by = 1) => (table[key] = (table[key] ?? 0) + by);

function newId(fn: string): string {
  const id = `${name}-${nextId++}`;
  sent.add(id);
  bump(inputs, fn);
  return id;
}

/** Records one outcome of input `id`; `expected` says whether it is what its function does. */
function record(id: string, kind: string, expected: boolean, detail = ""): void {
  seen.set(id, (seen.get(id) ?? 0) + 1);
  const shown = expected ? kind : `unexpected ${kind}`;
  bump(outcomes, shown);
  if (!expected && unexpected.length < 20) unexpected.push(`${id}: ${kind} ${detail}`.trim());
}

function kindOf(err: unknown): string {
  if (err instanceof RemoteError) return "RemoteError";
  if (err instanceof StupidModalError) return Code[err.code];
  return `thrown ${String(err)}`;
}

/** An input whose function returns its id. */
async function expectEcho(id: string, call: Promise<unknown>): Promise<void> {
  try {
    const value = await call;
    record(id, "ok", value === id, `returned ${String(value)}`);
  } catch (err) {
    record(id, kindOf(err), false, (err as Error).message);
  }
}

/** An input whose function throws a RangeError naming it. */
async function expectRemoteError(id: string, call: Promise<unknown>): Promise<void> {
  try {
    await call;
    record(id, "ok", false, "the failing function returned");
  } catch (err) {
    const right = err instanceof RemoteError && err.remoteName === "RangeError" && err.message === `failing ${id}`;
    record(id, kindOf(err), right, (err as Error).message);
  }
}

const operations: [weight: number, kind: string, run: () => Promise<void>][] = [
  [35, "quick", () => {
    const id = newId("quick");
    return expectEcho(id, quick.remote(id));
  }],
  [10, "slow", () => {
    const id = newId("slow");
    return expectEcho(id, slow.remote(id, 20 + int(200)));
  }],
  [10, "failing", () => {
    const id = newId("failing");
    return expectRemoteError(id, failing.remote(id));
  }],
  [1, "timing out", async () => {
    const id = newId("timingOut");
    try {
      await timingOut.remote(id);
      record(id, "ok", false, "returned past its timeout");
    } catch (err) {
      record(id, kindOf(err), err instanceof StupidModalError && err.code === Code.DEADLINE_EXCEEDED);
    }
  }],
  [12, "map", async () => {
    const ids = Array.from({ length: 10 + int(90) }, () => newId("quick"));
    let i = 0;
    try {
      for await (const value of quick.map(ids)) {
        const id = ids[i++];
        record(id, "ok", value === id, `returned ${String(value)}`);
      }
    } catch (err) {
      for (const id of ids.slice(i)) record(id, kindOf(err), false, (err as Error).message);
    }
  }],
  [6, "map with failures", async () => {
    const ids = Array.from({ length: 10 + int(40) }, () => newId("maybe"));
    const fails = ids.map(() => random() < 0.3);
    let i = 0;
    try {
      for await (const value of maybe.map(ids, fails, { returnExceptions: true })) {
        const id = ids[i];
        if (fails[i++]) {
          const right = value instanceof RemoteError && value.message === `maybe ${id}`;
          record(id, value instanceof Error ? kindOf(value) : "ok", right, String(value));
        } else {
          record(id, value instanceof Error ? kindOf(value) : "ok", value === id, String(value));
        }
      }
    } catch (err) {
      for (const id of ids.slice(i)) record(id, kindOf(err), false, (err as Error).message);
    }
  }],
  [10, "spawn", async () => {
    const id = newId("quick");
    await expectEcho(id, quick.spawn(id).then((call) => call.get({ timeoutMs: 120_000 })));
  }],
  [4, "spawnMap", async () => {
    const ids = Array.from({ length: 5 + int(45) }, () => newId("quick"));
    try {
      const results = await (await quick.spawnMap(ids)).get({ timeoutMs: 120_000 });
      ids.forEach((id, i) => record(id, "ok", results[i] === id, `returned ${String(results[i])}`));
    } catch (err) {
      for (const id of ids) record(id, kindOf(err), false, (err as Error).message);
    }
  }],
  [5, "generator", async () => {
    const id = newId("repeat");
    const n = 1 + int(50);
    try {
      const items = await Array.fromAsync(repeat.remoteGen(id, n));
      const right = items.length === n && items.every((item, i) => item === `${id}#${i}`);
      record(id, "ok", right, `yielded ${items.length} of ${n}`);
    } catch (err) {
      record(id, kindOf(err), false, (err as Error).message);
    }
  }],
];
const totalWeight = operations.reduce((sum, [weight]) => sum + weight, 0);

function pickOperation(): [string, () => Promise<void>] {
  let roll = random() * totalWeight;
  for (const [weight, kind, run] of operations) {
    if ((roll -= weight) < 0) return [kind, run];
  }
  return [operations[0][1], operations[0][2]];
}

await Promise.all(Array.from({ length: Number(loopsArg) }, async () => {
  while (Date.now() < deadline) {
    const [kind, run] = pickOperation();
    bump(calls, kind);
    await run();
  }
}));
await app.close();

const report: CallerReport = {
  caller: name,
  calls,
  inputs,
  outcomes,
  duplicates: [...seen.values()].filter((count) => count > 1).length,
  missing: [...sent].filter((id) => !seen.has(id)).length,
  unexpected,
};
console.log(JSON.stringify(report));
