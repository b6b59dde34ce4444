/**
 * The Session RPC served on its HTTP/2 stream by the server itself (direct_session.ts, routed by
 * session_route.ts): spoken to with a bare node:http2 client, byte by byte where it matters, so
 * that gRPC's framing, statuses and deadlines are checked as any client in any language sees them.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { app, pause, whoRuns } from "./fixtures/placement_app.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";
import { routeStreams } from "../src/server/session_route.ts";
import { grpcMessage, GrpcMessageReader } from "../src/wire/grpc_messages.ts";
import { encodeSessionRequest } from "../src/wire/session_request_codec.ts";
import { StupidModalService } from "../src/wire/proto.ts";
import type { SessionResponse } from "../src/wire/proto.ts";
import { decodeValue, encodeValue } from "../src/wire/codec.ts";
import { Code, StupidModalError } from "../src/wire/errors.ts";
import { Client } from "../client.ts";

const path = "/stupidmodal.v1.StupidModal/Session";

/** How a raw stream ended: its HTTP status, gRPC status and the responses before it. */
interface Ended {
  httpStatus: number;
  grpcStatus: number | undefined;
  grpcMessage: string;
  responses: SessionResponse[];
}

/** Opens a Session stream with `headers`; `ended` resolves when the server ends it. */
function openStream(
  client: http2.ClientHttp2Session,
  token: string | undefined,
  headers: Record<string, string> = {},
): { stream: http2.ClientHttp2Stream; ended: Promise<Ended> } {
  const stream = client.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...headers,
  });
  const reader = new GrpcMessageReader(Number.MAX_SAFE_INTEGER);
  const ended = new Promise<Ended>((resolve, reject) => {
    const result: Ended = { httpStatus: 0, grpcStatus: undefined, grpcMessage: "", responses: [] };
    const status = (fields: http2.IncomingHttpHeaders) => {
      if (fields["grpc-status"] !== undefined) result.grpcStatus = Number(fields["grpc-status"]);
      if (fields["grpc-message"] !== undefined) result.grpcMessage = decodeURIComponent(String(fields["grpc-message"]));
    };
    stream.on("response", (fields) => {
      result.httpStatus = Number(fields[":status"]);
      status(fields);
    });
    // As a gRPC client does, the stream is done once the status is in, whatever it still sends.
    stream.on("trailers", (fields) => {
      status(fields);
      stream.close();
    });
    stream.on("data", (chunk: Buffer) => {
      for (const message of reader.push(chunk)) {
        result.responses.push(StupidModalService.Session.responseDeserialize(message) as SessionResponse);
      }
    });
    stream.on("close", () => resolve(result));
    stream.on("error", reject);
  });
  return { stream, ended };
}

/** A call of `whoRuns` (found by app name) as session request bytes, framed. */
function whoRunsCall(callId: number): Buffer {
  const call = { call_id: callId, version: "", app_name: "placement-fixture", function: "whoRuns" };
  return grpcMessage(encodeSessionRequest({ calls: [{ ...call, args: [encodeValue([])] }], cancels: [], acks: [] }));
}

Deno.test("GrpcMessageReader: messages split anywhere, or packed together, come out whole and in order", () => {
  // A fixed-seed generator, so that a failure repeats.
  let seed = 12345;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % below;
  };
  for (let round = 0; round < 300; round++) {
    const messages = Array.from({ length: 1 + random(6) }, (_, i) => {
      const message = new Uint8Array(random(4) === 0 ? 0 : random(3000));
      message.fill((round + i) & 0xff);
      return message;
    });
    const bytes = Buffer.concat(messages.map((message) => grpcMessage(message)));
    const reader = new GrpcMessageReader(1 << 20);
    const read: Uint8Array[] = [];
    for (let at = 0; at < bytes.byteLength;) {
      const size = random(3) === 0 ? 1 + random(4) : 1 + random(2000);
      read.push(...reader.push(bytes.subarray(at, at + size)));
      at += size;
    }
    equal(reader.pendingBytes, 0);
    deepStrictEqual(read.map((message) => Buffer.from(message)), messages.map((message) => Buffer.from(message)));
  }
});

Deno.test("routeStreams reaches grpc-js's HTTP/2 server (its internals are as this grpc-js version has them)", async () => {
  const server = new grpc.Server();
  await new Promise<number>((done, fail) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, port) => err ? fail(err) : done(port),
    )
  );
  try {
    equal(routeStreams(server, path, () => {}), true);
  } finally {
    server.forceShutdown();
  }
});

Deno.test("the Session stream on its own HTTP/2 stream", async (t) => {
  const server = await startTestServer(["--max-payload-mb=1"]);
  useServer(server);
  // The app is registered by an ordinary call first; raw requests then name it.
  const servedBy = await whoRuns.remote();
  const client = http2.connect(`http://${server.address}`);
  client.on("error", () => {});
  try {
    await t.step("two calls sent a byte per write are read whole and answered, then status OK", async () => {
      const { stream, ended } = openStream(client, server.token);
      const bytes = Buffer.concat([whoRunsCall(1), whoRunsCall(2)]);
      for (let at = 0; at < bytes.byteLength; at++) stream.write(bytes.subarray(at, at + 1));
      // Ending the stream waits for its calls.
      stream.end();
      const result = await ended;
      equal(result.httpStatus, 200);
      equal(result.grpcStatus, Code.OK);
      const outputs = result.responses.flatMap((response) => response.outputs);
      deepStrictEqual(outputs.map((output) => output.call_id).sort(), [1, 2]);
      for (const output of outputs) equal(decodeValue(output.value!, "result"), servedBy);
    });

    await t.step("no token: UNAUTHENTICATED at once", async () => {
      const { stream, ended } = openStream(client, undefined);
      stream.end();
      const result = await ended;
      equal(result.grpcStatus, Code.UNAUTHENTICATED);
      ok(result.grpcMessage.length > 0);
    });

    await t.step("not gRPC: HTTP 415", async () => {
      const { stream, ended } = openStream(client, server.token, { "content-type": "text/plain" });
      stream.end();
      equal((await ended).httpStatus, 415);
    });

    await t.step("a compressed message: UNIMPLEMENTED", async () => {
      const { stream, ended } = openStream(client, server.token);
      const framed = whoRunsCall(1);
      framed[0] = 1;
      stream.end(framed);
      const result = await ended;
      equal(result.grpcStatus, Code.UNIMPLEMENTED);
      ok(result.grpcMessage.includes("compressed"), result.grpcMessage);
    });

    await t.step("a message longer than the server takes: RESOURCE_EXHAUSTED before its bytes arrive", async () => {
      const { stream, ended } = openStream(client, server.token);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(64 * 1024 * 1024, 1);
      stream.write(prefix);
      const result = await ended;
      equal(result.grpcStatus, Code.RESOURCE_EXHAUSTED);
      ok(result.grpcMessage.includes("over the server's limit"), result.grpcMessage);
    });

    await t.step("bytes that are no SessionRequest: INVALID_ARGUMENT naming the RPC", async () => {
      const { stream, ended } = openStream(client, server.token);
      stream.end(grpcMessage(new Uint8Array([0xff, 0xff, 0xff])));
      const result = await ended;
      equal(result.grpcStatus, Code.INVALID_ARGUMENT);
      ok(result.grpcMessage.startsWith("the Session request is not a valid message"), result.grpcMessage);
    });

    await t.step("the stream ends inside a message: INVALID_ARGUMENT", async () => {
      const { stream, ended } = openStream(client, server.token);
      stream.end(whoRunsCall(1).subarray(0, 9));
      const result = await ended;
      equal(result.grpcStatus, Code.INVALID_ARGUMENT);
      ok(result.grpcMessage.includes("ended inside a message"), result.grpcMessage);
    });

    await t.step("a session's grpc-timeout passes during a call: DEADLINE_EXCEEDED", async () => {
      const { stream, ended } = openStream(client, server.token, { "grpc-timeout": "300m" });
      const call = { call_id: 1, version: "", app_name: "placement-fixture", function: "pause" };
      stream.write(grpcMessage(
        encodeSessionRequest({ calls: [{ ...call, args: [encodeValue([5000])] }], cancels: [], acks: [] }),
      ));
      const result = await ended;
      equal(result.grpcStatus, Code.DEADLINE_EXCEEDED);
    });

    await t.step("a caller that resets the stream mid-call: the call is cancelled", async () => {
      const from = server.output.length;
      const { stream, ended } = openStream(client, server.token);
      const call = { call_id: 1, version: "", app_name: "placement-fixture", function: "announcedPause" };
      stream.write(grpcMessage(
        encodeSessionRequest({ calls: [{ ...call, args: [encodeValue([30_000])] }], cancels: [], acks: [] }),
      ));
      // Its "started" line comes back on the stream once it runs; then the caller resets.
      stream.once("data", () => stream.close(http2.constants.NGHTTP2_CANCEL));
      await ended;
      const line = await server.waitForLine(/call placement-fixture\.announcedPause .*CANCELLED/, from);
      ok(line.includes("CANCELLED"), line);
    });

    await t.step("after all that, the server serves as before", async () => {
      equal(await whoRuns.remote(), servedBy);
      equal(typeof await pause.remote(1), "number");
    });
  } finally {
    client.close();
    await app.close();
    await server.stop();
  }
});

Deno.test("the SDK's direct session takes a status message that is not valid percent-encoding as it came", async () => {
  // A bare HTTP/2 server that refuses every stream with a malformed grpc-message.
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "13", "grpc-message": "100%" },
      {
        endStream: true,
      },
    );
  });
  const port = await new Promise<number>((done) =>
    server.listen(0, "127.0.0.1", () => done((server.address() as AddressInfo).port))
  );
  const client = new Client({ server: `127.0.0.1:${port}`, token: "t" });
  try {
    const failure = await client.call({ version: "v", functionName: "f" }, []).then(
      () => undefined,
      (err: StupidModalError) => err,
    );
    ok(failure instanceof StupidModalError);
    equal(failure.code, Code.INTERNAL);
    equal(failure.message, "100%");
  } finally {
    client.close();
    await new Promise((done) => server.close(done));
  }
});
