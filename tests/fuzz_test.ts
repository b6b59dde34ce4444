/**
 * A seeded fuzz of every RPC: random bytes as request bodies, valid requests mutated, fields sent
 * with the wrong wire type, huge declared lengths, invalid UTF-8, unknown fields, and (where a
 * request carries CBOR) truncated, oversized, absurdly long-declared and deeply nested CBOR. The
 * server must never crash nor hang: every case ends with a clear status (INVALID_ARGUMENT or
 * RESOURCE_EXHAUSTED; UNAUTHENTICATED, NOT_FOUND and the like when the message is valid but names
 * nothing; OK when it is valid), and the server answers a health check afterwards.
 *
 * FUZZ_SEED=<n> replays a run; FUZZ_CASES=<n> changes the number of cases per RPC.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { service as healthService } from "grpc-health-check";
import descriptor from "../src/wire/stupid_modal.json" with { type: "json" };
import { appVersion } from "../src/wire/app_version.ts";
import { encodeValue } from "../src/wire/codec.ts";
import { StupidModalService } from "../src/wire/proto.ts";
import { Client } from "../client.ts";
import { rawBytesClient, rawCall, type RawOutcome } from "./helpers/raw_calls.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { app, count, Counter } from "./fixtures/fuzz_app.ts";

const seed = Number(Deno.env.get("FUZZ_SEED") ?? 6_2026);
const casesPerRpc = Number(Deno.env.get("FUZZ_CASES") ?? 200);
const MiB = 1024 * 1024;

/** Statuses a malformed or pointless request may end with: clear refusals, or success when it happens to be valid. */
const acceptable = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.NOT_FOUND,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.ALREADY_EXISTS,
]);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(seed);
const int = (below: number) => Math.floor(random() * below);
const pick = <T>(items: T[]): T => items[int(items.length)];
const bytes = (length: number) => Uint8Array.from({ length }, () => int(256));
const concat = (...parts: (Uint8Array | number[])[]) => {
  const all = parts.map((part) => Uint8Array.from(part));
  const out = new Uint8Array(all.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of all) out.set(part, (at += part.length) - part.length);
  return out;
};
const repeat = (pattern: number[], times: number) => {
  const out = new Uint8Array(pattern.length * times);
  for (let i = 0; i < times; i++) out.set(pattern, i * pattern.length);
  return out;
};

/** CBOR that is wrong (or merely strange) in one of the ways a decoder can be hurt. */
const badCbor: [string, () => Uint8Array][] = [
  ["random bytes", () => bytes(int(64))],
  ["truncated", () => {
    const valid = encodeValue([1, "two", { three: [3n, new Uint8Array(8)] }, new Map([[1, 2]])]);
    return valid.subarray(0, 1 + int(valid.length - 1));
  }],
  ["huge declared length (64-bit)", () => concat([pick([0x5b, 0x7b, 0x9b, 0xbb])], bytes(8))],
  ["huge declared length (32-bit)", () => concat([0x81, pick([0x5a, 0x7a, 0x9a, 0xba]), 0x7f], bytes(3))],
  ["array of 2^32 items", () => Uint8Array.from([0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 1])],
  ["100k nested arrays", () => concat(repeat([0x81], 100_000), [0x00])],
  ["50k nested maps", () => concat([0x81], repeat([0xa1, 0x60], 50_000), [0x00])],
  ["50k nested tags", () => concat([0x81], repeat([0xd8, 0x1c], 50_000), [0x80])],
  ["invalid UTF-8 text", () => concat([0x82, 0x64, 0xff, 0xfe, 0xc3, 0x28, 0x62], [0xed, 0xa0])],
  ["unterminated indefinite array", () => Uint8Array.from([0x9f, 0x01, 0x02])],
  ["stray break", () => Uint8Array.from([0x81, 0xff])],
  ["reference to nothing", () => Uint8Array.from([0x81, 0xd8, 0x1d, int(24)])],
  ["tag 27 naming a global", () => generic27()],
  ["misaligned typed array", () => Uint8Array.from([0x81, 0xd8, pick([0x46, 0x4e, 0x55]), 0x43, 1, 2, 3])],
  ["64 KiB bignum", () => concat([0x81, 0xc2, 0x5a, 0x00, 0x01, 0x00, 0x00], bytes(65_536))],
  ["__proto__ keys", () => encodeValue([JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"a": 1}}')])],
  ["not an array", () => encodeValue(pick([{ a: 1 }, 7, "x", null, new Map()]))],
  ["odd simple values", () => Uint8Array.from([0x83, 0xf8, int(256), 0xf9, int(256), int(256), 0xf7])],
  ["empty", () => new Uint8Array()],
];

/** Tag 27 (a "generic object") naming a global constructor, with arguments. */
function generic27(): Uint8Array {
  const name = pick(["constructor", "__proto__", "Function", "eval", "Error", "RegExp", "toString", "valueOf"]);
  return concat([0x81, 0xd8, 0x1b], encodeValue([name, "return 1", "(a+)+$"]));
}

/** Over --max-payload-mb=1, and over what the transport takes at all (payload + 1 MiB). */
const oversized: [string, () => Uint8Array][] = [
  ["over the payload limit", () => encodeValue([new Uint8Array(1.2 * MiB)])],
  ["over the transport limit", () => encodeValue([new Uint8Array(2.5 * MiB)])],
];

function cborCase(allowBig: boolean): { what: string; value: Uint8Array } {
  const [what, make] = allowBig && random() < 0.02 ? pick(oversized) : pick(badCbor);
  return { what, value: make() };
}

// Protobuf encoding of the contract's messages, to build valid requests and then spoil them.
const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
const serviceType = root.lookupService("stupidmodal.v1.StupidModal");

function encode(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = root.lookupType(`stupidmodal.v1.${typeName}`);
  return type.encode(type.fromObject(value)).finish();
}

const zeros = "0".repeat(64);

/** A valid request of each type, naming things that exist (the fixture) or harmlessly nothing. */
function baseRequest(typeName: string, registration: Record<string, unknown>): Record<string, unknown> {
  const target = { app_name: "fuzz-fixture", function: "count" };
  switch (typeName) {
    case "CheckAppVersionRequest":
      return { version: zeros };
    case "RegisterAppRequest":
      return registration;
    case "InvokeRequest":
    case "SpawnRequest":
      return { ...target, args: encodeValue([1, 2]) };
    case "SessionRequest": {
      // A second call whose arguments come in two pieces, the second as an ArgsChunk.
      const pieces = encodeValue([1]);
      return {
        calls: [
          { call_id: 1, ...target, args: encodeValue([1]) },
          { call_id: 2, ...target, args: pieces.subarray(0, 1), args_size: pieces.byteLength },
        ],
        cancels: [{ call_id: 9 }],
        acks: [],
        args_chunks: [{ call_id: 2, data: pieces.subarray(1) }],
      };
    }
    case "SpawnMapRequest":
      return { ...target, args: [encodeValue([1]), encodeValue([2])] };
    case "GetCallRequest":
      return { call_id: "fc-00000000-0000-0000-0000-000000000000", timeout_ms: 0 };
    case "CancelCallRequest":
      return { call_id: "fc-00000000-0000-0000-0000-000000000000" };
    case "DeployRequest":
      return { app_name: "fuzz-nothing", version: zeros };
    case "StopAppRequest":
    case "RevokeTokenRequest":
      return typeName === "StopAppRequest" ? { app_name: "fuzz-nothing" } : { name: "fuzz-nothing" };
    case "AppLogsRequest":
      return { app_name: "fuzz-fixture", tail: 5, follow: false };
    case "ListCallsRequest":
      return { app_name: "", limit: 5 };
    case "SetSecretRequest":
      return { name: "fuzz-secret", values: { FUZZ: "value" } };
    case "DeleteSecretRequest":
      return { name: "fuzz-secret" };
    case "CreateTokenRequest":
      return { name: "fuzz-token", scopes: ["invoke"] };
    case "ListAuditRequest":
      return { limit: 5 };
    default:
      return {};
  }
}

/** A valid request with some CBOR made bad (for the requests that carry CBOR). */
function withBadCbor(typeName: string, base: Record<string, unknown>): { what: string; value: Uint8Array } | undefined {
  const { what, value } = cborCase(true);
  switch (typeName) {
    case "InvokeRequest":
    case "SpawnRequest":
      return { what: `args: ${what}`, value: encode(typeName, { ...base, args: value }) };
    case "SpawnMapRequest":
      return { what: `args: ${what}`, value: encode(typeName, { ...base, args: [encodeValue([1]), value] }) };
    case "SessionRequest": {
      // Several calls in one message: functions and a class, with bad arguments or parameters.
      const calls = Array.from({ length: 1 + int(3) }, (_, i) => {
        const { value: args } = cborCase(false);
        if (random() < 0.1) {
          return { call_id: i + 1, app_name: "fuzz-fixture", function: "Counter", method: "get", params: args };
        }
        return { call_id: i + 1, app_name: "fuzz-fixture", function: pick(["count", "count", "Counter"]), args };
      });
      calls[0].args = value;
      return { what: `calls[].args: ${what}`, value: encode(typeName, { calls, cancels: [], acks: [] }) };
    }
    default:
      return undefined;
  }
}

/** Random edits to a valid encoding: flipped, dropped, inserted and cut bytes. */
function mutate(valid: Uint8Array): Uint8Array {
  let out = valid.slice();
  for (let edits = 1 + int(4); edits > 0; edits--) {
    const at = int(out.length + 1);
    switch (int(4)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)] ^= 1 << int(8);
        break;
      case 1:
        out = concat(out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + int(8))));
        break;
      case 2:
        out = concat(out.subarray(0, at), bytes(1 + int(8)), out.subarray(at));
        break;
      default:
        out = out.subarray(0, at);
    }
  }
  return out;
}

/** Fields of the request sent with the wrong wire type, or absurd declared lengths, or unknown numbers. */
function malformedFields(typeName: string): { what: string; value: Uint8Array } {
  const type = root.lookupType(`stupidmodal.v1.${typeName}`);
  const fields = type.fieldsArray;
  const writer = protobuf.Writer.create();
  const kind = int(5);
  const field = fields.length > 0 ? pick(fields) : undefined;
  const number = kind === 4 || !field ? 100 + int(1000) : field.id;
  switch (kind) {
    case 0: // a varint where the field is something else, or a string where it is a number
      writer.uint32((number << 3) | (field && field.type !== "string" && field.type !== "bytes" ? 2 : 0));
      if (field && field.type !== "string" && field.type !== "bytes") writer.bytes(bytes(int(16)));
      else writer.uint64(Number.MAX_SAFE_INTEGER);
      return { what: `field ${number} with the wrong wire type`, value: writer.finish() };
    case 1: // a length far beyond the message
      writer.uint32((number << 3) | 2).uint32(0x7fff_fff0);
      return { what: `field ${number} declares 2 GiB`, value: concat(writer.finish(), bytes(int(8))) };
    case 2: // a varint that never ends, then nothing
      writer.uint32(number << 3);
      return { what: `field ${number} with an endless varint`, value: concat(writer.finish(), repeat([0xff], 11)) };
    case 3: // invalid UTF-8 where strings go
      writer.uint32((number << 3) | 2).bytes(Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]));
      return { what: `field ${number} with invalid UTF-8`, value: writer.finish() };
    default: // unknown fields of every wire type, including deprecated groups
      writer.uint32((number << 3) | pick([0, 1, 2, 3, 4, 5, 6, 7]));
      return { what: `unknown field ${number}`, value: concat(writer.finish(), bytes(int(16))) };
  }
}

interface Case {
  what: string;
  bodies: Uint8Array[];
  metadata: grpc.Metadata;
  /** A following AppLogs call stays open by design: its deadline ending it is fine. */
  mayStayOpen: boolean;
}

function authorization(value: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (value !== undefined) metadata.set("authorization", value);
  return metadata;
}

/** Whether the server reads `body` as an AppLogs request that follows (with the server's own deserializer). */
function follows(body: Uint8Array): boolean {
  try {
    return StupidModalService.AppLogs.requestDeserialize(Buffer.from(body)).follow === true;
  } catch {
    return false;
  }
}

function makeCase(method: protobuf.Method, token: string, registration: Record<string, unknown>): Case {
  const typeName = method.requestType;
  const base = baseRequest(typeName, registration);
  const roll = random();
  let made: { what: string; value: Uint8Array };
  if (roll < 0.2) made = { what: "random bytes", value: bytes(int(300)) };
  else if (roll < 0.45) made = { what: "valid request, mutated", value: mutate(encode(typeName, base)) };
  else if (roll < 0.65) made = malformedFields(typeName);
  else made = withBadCbor(typeName, base) ?? { what: "valid request, mutated", value: mutate(encode(typeName, base)) };
  const credentials = random();
  const metadata = authorization(
    credentials < 0.05 ? undefined : credentials < 0.1 ? "Bearer wrong-token" : `Bearer ${token}`,
  );
  // A stream of requests may carry several messages, valid ones around the bad one.
  const bodies = method.requestStream && random() < 0.5
    ? [encode(typeName, base), made.value, encode(typeName, base)]
    : [made.value];
  return {
    what: made.what,
    bodies,
    metadata,
    mayStayOpen: typeName === "AppLogsRequest" && bodies.some(follows),
  };
}

/** Runs `work` over `items` with at most `limit` at once. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/** Statuses of the calls inside sessions and spawned batches, by name. */
const outputCodes = new Map<string, number>();

/** Failures inside the outputs of a session's calls, which must be clear too. */
function outputProblems(responseType: string, responses: Uint8Array[]): string[] {
  const problems: string[] = [];
  const type = root.lookupType(`stupidmodal.v1.${responseType}`);
  for (const body of responses) {
    const message = type.decode(body).toJSON() as { outputs?: { failure?: { code?: number; message?: string } }[] };
    for (const output of message.outputs ?? []) {
      const code = output.failure?.code ?? 0;
      const name = `Session call ${grpc.status[code]}`;
      outputCodes.set(name, (outputCodes.get(name) ?? 0) + 1);
      // A mutated request may cancel its own call (the valid one carries a Cancel).
      const expected = acceptable.has(code) || code === grpc.status.CANCELLED;
      if (output.failure && (!expected || !output.failure.message)) {
        problems.push(`an output failed with ${grpc.status[code]}: ${output.failure.message}`);
      }
    }
  }
  return problems;
}

Deno.test("fuzz: malformed messages to every RPC get clear errors, and the server keeps serving", async () => {
  const server = await startTestServer(["--max-payload-mb=1"]);
  useServer(server);
  const client = rawBytesClient(server.address);
  const sdk = new Client({ server: server.address, token: server.token });
  try {
    equal(await count.remote(1, 2, 3), 3);
    equal(await Counter.with(1, 2).remote.get(), 2);
    const files = [{
      path: "raw.ts",
      content: new TextEncoder().encode(
        'import { App } from "stupid-modal";\nexport const f = new App("fuzz-raw").function({}, function f() { return 1; });\n',
      ),
    }];
    const functions = [{
      name: "f",
      module: "raw.ts",
      permissions: { read: [], write: [], net: [], env: [] },
      timeout_ms: 0,
      memory_mb: 0,
    }];
    const registration = {
      app_name: "fuzz-raw",
      version: await appVersion("fuzz-raw", files, functions),
      files,
      functions,
      source_root: "file:///fuzz/",
    };

    console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays this run), ${casesPerRpc} cases per RPC`);
    const problems: string[] = [];
    const spawned: string[] = [];
    const rows: [string, number, string][] = [];
    let total = 0;
    for (const method of serviceType.methodsArray) {
      const cases = Array.from({ length: casesPerRpc }, () => makeCase(method, server.token, registration));
      const codes = new Map<string, number>();
      const path = `/stupidmodal.v1.StupidModal/${method.name}`;
      const kind = { requestStream: method.requestStream === true, responseStream: method.responseStream === true };
      const began = performance.now();
      await inParallel(cases, 8, async (fuzzCase) => {
        const outcome: RawOutcome = await rawCall(
          client,
          path,
          kind,
          fuzzCase.bodies,
          fuzzCase.metadata,
          fuzzCase.mayStayOpen ? 2 : 30,
        );
        const stayedOpen = fuzzCase.mayStayOpen && outcome.code === grpc.status.DEADLINE_EXCEEDED;
        const name = stayedOpen ? "following until the deadline" : grpc.status[outcome.code] ?? String(outcome.code);
        codes.set(name, (codes.get(name) ?? 0) + 1);
        if (!stayedOpen && !acceptable.has(outcome.code)) {
          problems.push(`${method.name} (${fuzzCase.what}): ${name}: ${outcome.details}`);
        } else if (outcome.code !== grpc.status.OK && !stayedOpen && !outcome.details) {
          problems.push(`${method.name} (${fuzzCase.what}): ${name} without a message`);
        }
        if (method.name === "Session") {
          problems.push(...outputProblems("SessionResponse", outcome.responses).map((p) => `Session: ${p}`));
        }
        if ((method.name === "Spawn" || method.name === "SpawnMap") && outcome.code === grpc.status.OK) {
          spawned.push(root.lookupType("stupidmodal.v1.SpawnResponse").decode(outcome.responses[0]).toJSON().call_id);
        }
      });
      total += cases.length;
      const statuses = [...codes].sort().map(([code, n]) => `${code} ${n}`).join(", ");
      rows.push([method.name, cases.length, `${statuses}  (${((performance.now() - began) / 1000).toFixed(1)} s)`]);
    }

    // Spawned calls that were accepted each end with a clear outcome per input.
    for (const id of spawned) {
      const state = await sdk.getCall(id, 30_000);
      ok(state.done, `spawned call ${id} did not finish`);
      for (const output of state.outputs) {
        const code = output.failure?.code ?? 0;
        const name = `spawned input ${grpc.status[code]}`;
        outputCodes.set(name, (outputCodes.get(name) ?? 0) + 1);
        if (output.failure && (!acceptable.has(code) || !output.failure.message)) {
          problems.push(`spawned ${id}: ${grpc.status[code]}: ${output.failure.message}`);
        }
      }
    }

    const width = Math.max(...rows.map(([name]) => name.length));
    console.log(`\n${"rpc".padEnd(width)}  cases  statuses`);
    for (const [name, cases, codes] of rows) {
      console.log(`${name.padEnd(width)}  ${String(cases).padStart(5)}  ${codes}`);
    }
    console.log(`${"total".padEnd(width)}  ${String(total).padStart(5)}  (${spawned.length} spawned calls checked)`);
    console.log(`outcomes inside: ${[...outputCodes].sort().map(([code, n]) => `${code} ${n}`).join(", ")}\n`);
    if (problems.length > 0) {
      console.log(server.output.filter((line) => /internal error|ERROR|Uncaught/.test(line)).join("\n"));
    }
    deepStrictEqual(problems.slice(0, 30), [], `${problems.length} unclear or wrong answers`);

    // Still serving: health, and real calls.
    const Health = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
    const health = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Check: (request: unknown, callback: (err: Error | null, response: { status: string }) => void) => void;
    };
    try {
      const status = await new Promise<string>((resolve, reject) =>
        health.Check({ service: "" }, (err, response) => err ? reject(err) : resolve(response.status))
      );
      equal(status, "SERVING");
    } finally {
      health.close();
    }
    equal(await count.remote("still", "serving"), 2);
    equal(await Counter.with().remote.get(), 0);
    equal(server.process.pid > 0 && !server.output.some((line) => /panic|Uncaught/.test(line)), true);
  } finally {
    sdk.close();
    client.close();
    await app.close();
    await server.stop();
  }
});
