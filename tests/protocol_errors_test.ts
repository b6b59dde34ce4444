/**
 * End-to-end: bad requests of every kind (no or wrong token, unknown targets, garbage arguments,
 * payloads over the limit, malformed app registrations) each fail with a clear error and the
 * right gRPC code, and the server keeps serving after each; health and reflection answer.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { appVersion } from "../src/wire/app_version.ts";
import { decodeValue, encodeValue } from "../src/wire/codec.ts";
import {
  type CallMessage,
  type FunctionSpec,
  type OutputMessage,
  type RegisterAppRequest,
  type SessionRequest,
  type SessionResponse,
  type SourceFile,
  StupidModalClient,
} from "../src/wire/proto.ts";
import { startTestServer, type TestServer, useServer } from "./helpers/test_server.ts";
import { add, app, byteLength, makeBytes } from "./fixtures/protocol_app.ts";

const MiB = 1024 * 1024;

type RawClient = grpc.Client & Record<string, CallableFunction>;

/** A plain grpc-js client of the contract, as a caller in another language would have. */
function rawClient(server: TestServer): RawClient {
  return new StupidModalClient(server.address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  }) as RawClient;
}

/** Metadata with this `authorization` value, or none at all. */
function authorization(value: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (value !== undefined) metadata.set("authorization", value);
  return metadata;
}

const bearer = (server: TestServer) => authorization(`Bearer ${server.token}`);

/**
 * Every raw call carries a deadline, so that a server that never answers fails the test (with
 * DEADLINE_EXCEEDED) instead of hanging it. It bounds waiting only; no test asserts a duration.
 */
const deadline = (seconds: number) => ({ deadline: Date.now() + seconds * 1000 });

function unary<T>(client: RawClient, method: string, request: unknown, metadata: grpc.Metadata): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, deadline(60), (err: grpc.ServiceError | null, response: T) => {
      if (err) reject(err);
      else resolve(response);
    });
  });
}

/** Asserts that a promise rejects with a gRPC code and a message matching `pattern`. */
async function rejectsWith(promise: Promise<unknown>, code: grpc.status, pattern: RegExp): Promise<void> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: { code?: number; details?: string; message?: string }) => ({ error }),
  );
  ok("error" in outcome, `expected ${grpc.status[code]}, but the call succeeded with ${Deno.inspect(outcome)}`);
  const { error } = outcome;
  const message = error.details || error.message || "";
  strictEqual(error.code, code, `expected ${grpc.status[code]}, got code ${error.code}: ${message}`);
  match(message, pattern);
}

/** Sends calls in one session message; resolves with each call's output once the stream ends. */
function sessionOutputs(
  client: RawClient,
  metadata: grpc.Metadata,
  calls: CallMessage[],
): Promise<Map<number, OutputMessage>> {
  return new Promise((resolve, reject) => {
    const stream = client.Session(metadata, deadline(60)) as grpc.ClientDuplexStream<unknown, SessionResponse>;
    const outputs = new Map<number, OutputMessage>();
    stream.on("data", (response: SessionResponse) => {
      for (const output of response.outputs) outputs.set(output.call_id, output);
      if (outputs.size === calls.length) stream.end();
    });
    stream.on("error", reject);
    stream.on("end", () => resolve(outputs));
    stream.write({ calls, cancels: [] });
  });
}

/** Opens a session, sends a call, and resolves with the error that ends the stream. */
function sessionError(client: RawClient, metadata: grpc.Metadata, call: CallMessage): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    const stream = client.Session(metadata, deadline(15)) as grpc.ClientDuplexStream<unknown, SessionResponse>;
    stream.on("data", (response: SessionResponse) => {
      reject(new Error(`the session answered instead of failing: ${Deno.inspect(response)}`));
      stream.cancel();
    });
    stream.on("error", resolve);
    stream.on("end", () => reject(new Error("the session ended without an error")));
    stream.write({ calls: [call], cancels: [] });
  });
}

function assertFailure(output: OutputMessage | undefined, code: grpc.status, pattern: RegExp): void {
  ok(output, "no output for the call");
  ok(output.failure, `expected ${grpc.status[code]}, got a value: ${Deno.inspect(output)}`);
  strictEqual(output.failure.code, code, `expected ${grpc.status[code]}: ${output.failure.message}`);
  match(output.failure.message, pattern);
}

function assertValue(output: OutputMessage | undefined, expected: unknown): void {
  ok(output, "no output for the call");
  ok(!output.failure, `expected a value, got ${Deno.inspect(output.failure)}`);
  ok(output.value, "the output holds neither a value nor a failure");
  deepStrictEqual(decodeValue(output.value, "result"), expected);
}

/** An InvokeRequest: `add(1, 2)` unless `fields` say otherwise. */
const invocation = (fields: Partial<Omit<CallMessage, "call_id">>): Omit<CallMessage, "call_id"> => ({
  version: "",
  app_name: "",
  function: "add",
  args: encodeValue([1, 2]),
  ...fields,
});

/** A session Call: `add(1, 2)` unless `fields` say otherwise. */
const call = (call_id: number, fields: Partial<Omit<CallMessage, "call_id">>): CallMessage => ({
  call_id,
  ...invocation(fields),
});

/** The server still answers good calls, through the SDK and through the raw client. */
async function assertServes(server: TestServer, client: RawClient): Promise<void> {
  strictEqual(await add.remote(20, 22), 42);
  const response = await unary<{ value: Uint8Array }>(
    client,
    "Invoke",
    { app_name: "protocol-fixture", function: "add", args: encodeValue([2, 3]) },
    bearer(server),
  );
  strictEqual(decodeValue(response.value, "result"), 5);
}

const rawSource = `import { App } from "stupid-modal";

const app = new App("protocol-raw");
app.function({}, function triple(x: number) {
  return 3 * x;
});
`;

const sourceFile = (path: string, text: string): SourceFile => ({ path, content: new TextEncoder().encode(text) });

/** A RegisterApp request built by hand, valid unless the options spoil it. */
async function rawApp(
  options: { files?: SourceFile[]; read?: string[]; version?: string } = {},
): Promise<RegisterAppRequest> {
  const files = options.files ?? [sourceFile("raw.ts", rawSource)];
  const functions: FunctionSpec[] = [{
    name: "triple",
    module: "raw.ts",
    permissions: { read: options.read ?? [], write: [], net: [], env: [] },
    timeout_ms: 0,
    memory_mb: 0,
  }];
  return {
    app_name: "protocol-raw",
    version: options.version ?? await appVersion("protocol-raw", files, functions),
    files,
    functions,
    source_root: "file:///protocol-raw/",
  };
}

/** `authorization` values the server must refuse, and what its message says. */
const badCredentials = (server: TestServer): [string | undefined, RegExp][] => [
  [undefined, /missing bearer token/],
  ["", /missing bearer token/],
  [server.token, /missing bearer token/],
  [`Basic ${server.token}`, /missing bearer token/],
  ["Bearer wrong-token", /wrong token/],
  [`Bearer ${server.token}x`, /wrong token/],
  ["Bearer ", /missing bearer token|wrong token/], // an empty token (HTTP/2 may trim the space)
];

Deno.test("a missing or wrong token fails the unary RPCs with UNAUTHENTICATED", async () => {
  const server = await startTestServer();
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    const registration = await rawApp();
    const invoke = { app_name: "protocol-fixture", function: "add", args: encodeValue([1, 2]) };
    for (const [header, pattern] of badCredentials(server)) {
      const metadata = () => authorization(header);
      await rejectsWith(
        unary(client, "CheckAppVersion", { version: registration.version }, metadata()),
        grpc.status.UNAUTHENTICATED,
        pattern,
      );
      await rejectsWith(unary(client, "RegisterApp", registration, metadata()), grpc.status.UNAUTHENTICATED, pattern);
      await rejectsWith(unary(client, "Invoke", invoke, metadata()), grpc.status.UNAUTHENTICATED, pattern);
      await assertServes(server, client);
    }
    // Nothing was registered by the refused RegisterApp calls.
    const check = await unary<{ present: boolean }>(
      client,
      "CheckAppVersion",
      { version: registration.version },
      bearer(server),
    );
    strictEqual(check.present, false);

    // Through the SDK: a wrong token, then none at all (the error says how to set it).
    await app.close();
    Deno.env.set("STUPID_MODAL_TOKEN", "wrong-token");
    await rejectsWith(add.remote(1, 2), grpc.status.UNAUTHENTICATED, /wrong token/);
    await app.close();
    Deno.env.set("STUPID_MODAL_TOKEN", "");
    await rejectsWith(add.remote(1, 2), grpc.status.UNAUTHENTICATED, /no token given; set STUPID_MODAL_TOKEN/);
    await app.close();
    useServer(server);
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("a missing or wrong token ends the Session stream with UNAUTHENTICATED", async () => {
  const server = await startTestServer();
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    // All at once: a server that leaves the streams hanging costs one deadline, not seven.
    const refused = badCredentials(server).map(async ([header, pattern]) => {
      const error = await sessionError(client, authorization(header), call(1, { app_name: "protocol-fixture" }));
      return { header, pattern, error };
    });
    for (const { header, pattern, error } of await Promise.all(refused)) {
      strictEqual(
        error.code,
        grpc.status.UNAUTHENTICATED,
        `Session with authorization ${JSON.stringify(header)} ended with ${grpc.status[error.code]}: ${error.details}`,
      );
      match(error.details, pattern);
    }
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("an unknown app version, app name or function is NOT_FOUND, through Invoke and the session", async () => {
  const server = await startTestServer();
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    const unknownVersion = "0".repeat(64);
    const targets: [Partial<Omit<CallMessage, "call_id">>, RegExp][] = [
      [{ version: unknownVersion }, new RegExp(`no app version ${unknownVersion} is registered`)],
      [{ app_name: "no-such-app" }, /no app named "no-such-app" is registered/],
      [{ app_name: "protocol-fixture", function: "nope" }, /app "protocol-fixture" has no function "nope".*add/],
      [{ app_name: "protocol-fixture", function: "" }, /app "protocol-fixture" has no function ""/],
    ];
    for (const [target, pattern] of targets) {
      await rejectsWith(unary(client, "Invoke", invocation(target), bearer(server)), grpc.status.NOT_FOUND, pattern);
      await assertServes(server, client);
    }
    // Naming neither a version nor an app is a malformed request, not a missing one.
    await rejectsWith(
      unary(client, "Invoke", { function: "add", args: encodeValue([1, 2]) }, bearer(server)),
      grpc.status.INVALID_ARGUMENT,
      /names no app version and no app/,
    );

    // On the session each failure is its call's own; the good call in the same message succeeds.
    const calls = targets.map(([target], index) => call(index + 1, target));
    calls.push(call(100, { app_name: "protocol-fixture", args: encodeValue([40, 2]) }));
    const outputs = await sessionOutputs(client, bearer(server), calls);
    strictEqual(outputs.size, calls.length);
    targets.forEach(([, pattern], index) => assertFailure(outputs.get(index + 1), grpc.status.NOT_FOUND, pattern));
    assertValue(outputs.get(100), 42);
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("arguments that are not one CBOR array fail with INVALID_ARGUMENT", async () => {
  const server = await startTestServer();
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    const random = crypto.getRandomValues(new Uint8Array(256));
    random[0] = 0x1c; // a reserved initial byte: never well-formed CBOR, whatever follows
    const badArgs: [Uint8Array, RegExp][] = [
      [random, /arguments are not valid CBOR \(256 bytes\)/],
      [new Uint8Array([0x83, 0x01]), /arguments are not valid CBOR \(2 bytes\)/], // an array cut short
      [new Uint8Array([0x01, 0x02]), /arguments are not valid CBOR \(2 bytes\)/], // trailing bytes
      [encodeValue({ a: 1, b: 2 }), /arguments must be one CBOR array/],
      [encodeValue(7), /arguments must be one CBOR array/],
      [encodeValue("1, 2"), /arguments must be one CBOR array/],
    ];
    for (const [args, pattern] of badArgs) {
      await rejectsWith(
        unary(client, "Invoke", { app_name: "protocol-fixture", function: "add", args }, bearer(server)),
        grpc.status.INVALID_ARGUMENT,
        pattern,
      );
      await assertServes(server, client);
    }

    const calls = badArgs.map(([args], index) => call(index + 1, { app_name: "protocol-fixture", args }));
    calls.push(call(100, { app_name: "protocol-fixture", args: encodeValue([40, 2]) }));
    const outputs = await sessionOutputs(client, bearer(server), calls);
    strictEqual(outputs.size, calls.length);
    badArgs.forEach(([, pattern], index) =>
      assertFailure(outputs.get(index + 1), grpc.status.INVALID_ARGUMENT, pattern)
    );
    assertValue(outputs.get(100), 42);
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("a payload over --max-payload-mb fails with RESOURCE_EXHAUSTED naming both sizes", async () => {
  const server = await startTestServer(["--max-payload-mb=1"]);
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    // The limit leaves 4 KiB for CBOR framing, so a value of exactly 1 MiB fits.
    const limit = `limit of ${MiB + 4096} bytes`;
    strictEqual(await byteLength.remote(new Uint8Array(MiB)), MiB);
    const big = new Uint8Array(1.5 * MiB);
    const bigArgs = encodeValue([big]);

    // The SDK refuses before sending.
    await rejectsWith(
      byteLength.remote(big),
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(`arguments are ${bigArgs.byteLength} bytes, over the server's ${limit}`),
    );
    await assertServes(server, client);
    strictEqual(await byteLength.remote(new Uint8Array(MiB / 2)), MiB / 2);

    // The server refuses what a raw client sends anyway.
    await rejectsWith(
      unary(client, "Invoke", { app_name: "protocol-fixture", function: "byteLength", args: bigArgs }, bearer(server)),
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(`arguments are ${bigArgs.byteLength} bytes, over the server's ${limit}`),
    );
    await assertServes(server, client);

    const outputs = await sessionOutputs(client, bearer(server), [
      call(1, { app_name: "protocol-fixture", function: "byteLength", args: bigArgs }),
      call(2, { app_name: "protocol-fixture", function: "byteLength", args: encodeValue([new Uint8Array(1000)]) }),
    ]);
    assertFailure(
      outputs.get(1),
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(`arguments are ${bigArgs.byteLength} bytes, over the server's ${limit}`),
    );
    assertValue(outputs.get(2), 1000);
    await assertServes(server, client);

    // A message beyond what the transport accepts at all.
    await rejectsWith(
      unary(
        client,
        "Invoke",
        { app_name: "protocol-fixture", function: "byteLength", args: encodeValue([new Uint8Array(3 * MiB)]) },
        bearer(server),
      ),
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(`larger than max \\(\\d+ vs\\.? ${MiB + 4096 + MiB}\\)`),
    );
    await assertServes(server, client);

    // A result over the limit fails its call the same way.
    await rejectsWith(
      makeBytes.remote(1.5 * MiB),
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(`the result is ${encodeValue(big).byteLength} bytes, over the server's ${limit}`),
    );
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

/** What a session sent `requests` (then ended by the caller) answered: outputs and result pieces by call. */
function sessionExchange(
  client: RawClient,
  metadata: grpc.Metadata,
  requests: Partial<SessionRequest>[],
): Promise<{ outputs: Map<number, OutputMessage>; pieces: Map<number, Uint8Array[]> }> {
  return new Promise((resolve, reject) => {
    const stream = client.Session(metadata, deadline(60)) as grpc.ClientDuplexStream<unknown, SessionResponse>;
    const outputs = new Map<number, OutputMessage>();
    const pieces = new Map<number, Uint8Array[]>();
    stream.on("data", (response: SessionResponse) => {
      for (const chunk of response.value_chunks ?? []) {
        pieces.set(chunk.call_id, [...pieces.get(chunk.call_id) ?? [], chunk.data]);
      }
      for (const output of response.outputs) outputs.set(output.call_id, output);
    });
    stream.on("error", reject);
    stream.on("end", () => resolve({ outputs, pieces }));
    for (const request of requests) stream.write({ calls: [], cancels: [], acks: [], args_chunks: [], ...request });
    stream.end();
  });
}

Deno.test("arguments and results in pieces: joined exactly, and bad pieces refused with clear errors", async () => {
  const server = await startTestServer(["--max-payload-mb=3"]);
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    const args = encodeValue([new Uint8Array(2.5 * MiB).map((_, i) => i % 13)]);
    const [a, b, c] = [args.subarray(0, MiB), args.subarray(MiB, 2 * MiB), args.subarray(2 * MiB)];
    const target = { app_name: "protocol-fixture", function: "byteLength" };
    const sized = (id: number, first: Uint8Array, size: number, more: Partial<CallMessage> = {}) =>
      call(id, { ...target, args: first, args_size: size, ...more });
    const { outputs, pieces } = await sessionExchange(client, bearer(server), [
      // 1: three pieces that add up; 2: more than args_size; 3: args_size over the limit;
      // 4: cancelled half-way; 5: a result in pieces; 6: never finished before the session ends;
      // 7: a large result to a caller that takes none in pieces.
      {
        calls: [
          sized(1, a, args.byteLength),
          sized(2, a, MiB + 10),
          sized(3, a, 4 * MiB),
          sized(4, a, args.byteLength),
        ],
      },
      { args_chunks: [{ call_id: 1, data: b }, { call_id: 2, data: b }, { call_id: 4, data: b }] },
      { cancels: [{ call_id: 4 }], args_chunks: [{ call_id: 1, data: c }, { call_id: 4, data: c }] },
      {
        calls: [
          call(5, {
            app_name: "protocol-fixture",
            function: "makeBytes",
            args: encodeValue([2.5 * MiB]),
            accept_chunks: true,
          }),
          sized(6, a, args.byteLength),
          call(7, { app_name: "protocol-fixture", function: "makeBytes", args: encodeValue([2.5 * MiB]) }),
        ],
      },
    ]);
    assertValue(outputs.get(1), 2.5 * MiB);
    assertFailure(outputs.get(2), grpc.status.INVALID_ARGUMENT, /argument chunks come to more than its args_size/);
    assertFailure(
      outputs.get(3),
      grpc.status.RESOURCE_EXHAUSTED,
      /arguments are 4194304 bytes, over the server's limit/,
    );
    assertFailure(outputs.get(4), grpc.status.CANCELLED, /cancelled by the caller/);
    const result = outputs.get(5);
    ok(result?.value && pieces.get(5), `call 5 came whole: ${Deno.inspect(result)}`);
    deepStrictEqual(pieces.get(5)!.map((piece) => piece.byteLength), [MiB, MiB]);
    const joined = new Uint8Array([...pieces.get(5)!.flatMap((piece) => [...piece]), ...result.value]);
    deepStrictEqual(decodeValue(joined, "result"), new Uint8Array(2.5 * MiB));
    assertFailure(outputs.get(6), grpc.status.INVALID_ARGUMENT, /the session ended before call 6's arguments/);
    // A caller that did not set accept_chunks (any other client) gets its result whole.
    strictEqual(pieces.get(7), undefined);
    assertValue(outputs.get(7), new Uint8Array(2.5 * MiB));
    await assertServes(server, client);
    // Through the SDK, both ways at once.
    const big = new Uint8Array(2.5 * MiB).map((_, i) => i % 7);
    strictEqual(await byteLength.remote(big), big.byteLength);
    deepStrictEqual(await makeBytes.remote(2.5 * MiB), new Uint8Array(2.5 * MiB));
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("a malformed RegisterApp is refused with the right code and registers nothing", async () => {
  const granted = await Deno.makeTempDir({ prefix: "stupid-modal-granted-" });
  const server = await startTestServer([`--grant-read=${granted}`]);
  const client = rawClient(server);
  try {
    useServer(server);
    strictEqual(await add.remote(1, 2), 3);
    const valid = await rawApp({ read: [granted] });
    const cases: [string, RegisterAppRequest, grpc.status, RegExp][] = [
      [
        "a version that is not the content's hash",
        { ...valid, version: "ab".repeat(32) },
        grpc.status.INVALID_ARGUMENT,
        new RegExp(`version ${"ab".repeat(32)} does not match the content, whose hash is ${valid.version}`),
      ],
      [
        "a file path that climbs out of the app",
        await rawApp({ files: [...valid.files, sourceFile("../x.ts", "export const x = 1;\n")] }),
        grpc.status.INVALID_ARGUMENT,
        /file path "\.\.\/x\.ts" must be relative and stay inside the app/,
      ],
      [
        "an absolute file path",
        await rawApp({ files: [...valid.files, sourceFile("/etc/x.ts", "export const x = 1;\n")] }),
        grpc.status.INVALID_ARGUMENT,
        /file path "\/etc\/x\.ts" must be relative and stay inside the app/,
      ],
      [
        "an import of a module that was not shipped",
        await rawApp({
          files: [sourceFile("raw.ts", `import { helper } from "./helper.ts";\n${rawSource}helper();\n`)],
        }),
        grpc.status.INVALID_ARGUMENT,
        /raw\.ts imports "\.\/helper\.ts", which was not shipped with the app/,
      ],
      [
        "an import of an npm package the server does not allow",
        await rawApp({
          files: [sourceFile("raw.ts", `import leftPad from "npm:left-pad@1.3.0";\n${rawSource}leftPad;\n`)],
        }),
        grpc.status.PERMISSION_DENIED,
        /imports the npm package "left-pad", which this server does not allow.*--npm-allow=left-pad/,
      ],
      [
        "read access the server does not grant",
        await rawApp({ read: ["/etc"] }),
        grpc.status.PERMISSION_DENIED,
        /function "triple" asks for read access to "\/etc", which this server does not grant.*--grant-read=\/etc/,
      ],
      [
        "read access to the folder above a granted one",
        await rawApp({ read: [`${granted}/..`] }),
        grpc.status.PERMISSION_DENIED,
        /function "triple" asks for read access to .* which this server does not grant.*--grant-read=/,
      ],
    ];
    for (const [what, request, code, pattern] of cases) {
      await rejectsWith(unary(client, "RegisterApp", request, bearer(server)), code, pattern).catch((err) => {
        throw new Error(`${what}: ${err.message}`, { cause: err });
      });
      const check = await unary<{ present: boolean }>(
        client,
        "CheckAppVersion",
        { version: request.version },
        bearer(server),
      );
      strictEqual(check.present, false, `${what}: the refused version is registered`);
      await assertServes(server, client);
    }
    await rejectsWith(
      unary(client, "Invoke", { app_name: "protocol-raw", function: "triple", args: encodeValue([4]) }, bearer(server)),
      grpc.status.NOT_FOUND,
      /no app named "protocol-raw"/,
    );

    // The request every case above spoiled is itself good: it registers and runs.
    const registered = await unary<{ version: string; max_payload_bytes: number }>(
      client,
      "RegisterApp",
      valid,
      bearer(server),
    );
    strictEqual(registered.version, valid.version);
    strictEqual(registered.max_payload_bytes, 64 * MiB + 4096);
    const response = await unary<{ value: Uint8Array }>(
      client,
      "Invoke",
      { version: valid.version, function: "triple", args: encodeValue([4]) },
      bearer(server),
    );
    strictEqual(decodeValue(response.value, "result"), 12);
    await assertServes(server, client);
  } finally {
    client.close();
    await app.close();
    await server.stop();
    await Deno.remove(granted, { recursive: true });
  }
});

/** The part of ServerReflectionResponse these tests read. */
interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] } | null;
}

Deno.test("health answers SERVING and reflection lists the service, without a token", async () => {
  const server = await startTestServer();
  const client = rawClient(server);
  const HealthClient = grpc.makeClientConstructor(
    healthService as unknown as grpc.ServiceDefinition,
    "grpc.health.v1.Health",
  );
  const health = new HealthClient(server.address, grpc.credentials.createInsecure()) as RawClient;
  const reflectionProtos = new URL("../node_modules/@grpc/reflection/build/proto/grpc/reflection/", import.meta.url);
  // deno-lint-ignore no-explicit-any
  const loadReflection = (version: string): any =>
    grpc.loadPackageDefinition(
      protoLoader.loadSync(new URL(`${version}/reflection.proto`, reflectionProtos).pathname, {
        keepCase: true,
        longs: Number,
        enums: String,
        defaults: true,
        oneofs: true,
      }),
    ).grpc;
  const reflectionClients = [
    new (loadReflection("v1alpha").reflection.v1alpha.ServerReflection)(
      server.address,
      grpc.credentials.createInsecure(),
    ),
    new (loadReflection("v1").reflection.v1.ServerReflection)(server.address, grpc.credentials.createInsecure()),
  ] as RawClient[];
  try {
    useServer(server);
    for (const service of ["", "stupidmodal.v1.StupidModal"]) {
      const response = await unary<{ status: string }>(health, "Check", { service }, new grpc.Metadata());
      strictEqual(response.status, "SERVING", `health of "${service}"`);
    }
    await rejectsWith(
      unary(health, "Check", { service: "no.such.Service" }, new grpc.Metadata()),
      grpc.status.NOT_FOUND,
      /no\.such\.Service/,
    );

    for (const reflection of reflectionClients) {
      const services = await new Promise<string[]>((resolve, reject) => {
        const stream = reflection.ServerReflectionInfo(new grpc.Metadata()) as grpc.ClientDuplexStream<
          unknown,
          ReflectionResponse
        >;
        stream.on("data", (response: ReflectionResponse) => {
          if (response.list_services_response) resolve(response.list_services_response.service.map((s) => s.name));
          else reject(new Error(`reflection answered ${Deno.inspect(response)}`));
          stream.end();
        });
        stream.on("error", reject);
        stream.write({ list_services: "" });
      });
      ok(services.includes("stupidmodal.v1.StupidModal"), `reflection lists ${services.join(", ")}`);
    }
    strictEqual(await add.remote(1, 2), 3);
    await assertServes(server, client);
  } finally {
    for (const reflection of reflectionClients) reflection.close();
    health.close();
    client.close();
    await app.close();
    await server.stop();
  }
});
