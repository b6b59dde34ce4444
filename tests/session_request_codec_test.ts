/**
 * The hand-written SessionRequest codec: the caller's encoding reads back, field by field, with the
 * contract's decoder; the server's decoder reads what the contract's encoder writes exactly as the
 * contract's decoder does, and refuses bytes that are no such message with a reason.
 */
import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { encodeArgsParts, largeBytes } from "../src/wire/cbor_parts.ts";
import { decodeArgs } from "../src/wire/codec.ts";
import { StupidModalService } from "../src/wire/proto.ts";
import { decodeSessionRequest, encodeSessionRequest } from "../src/wire/session_request_codec.ts";

const decode = (bytes: Uint8Array) => StupidModalService.Session.requestDeserialize(bytes as never);

Deno.test("a SessionRequest encoded by hand decodes as the contract says", () => {
  const big = new Uint8Array(largeBytes * 3).map((_, i) => i % 251);
  const request = {
    calls: [
      { call_id: 1, version: "v".repeat(64), app_name: "", function: "add", args: encodeArgsParts([1, 2]) },
      {
        call_id: 2 ** 40 + 5,
        version: "",
        app_name: "dépôt",
        function: "upload",
        args: encodeArgsParts(["näme", big, null]),
        method: "put",
        params: new Uint8Array([0x81, 0x01]),
      },
    ],
    cancels: [{ call_id: 3 }, { call_id: 300 }],
    acks: [{ call_id: 4, count: 70_000 }],
  };
  const decoded = decode(encodeSessionRequest(request));
  deepStrictEqual(
    decoded.calls.map((
      call: Record<string, unknown>,
    ) => [call.call_id, call.version, call.app_name, call.function, call.method]),
    [
      [1, "v".repeat(64), "", "add", ""],
      [2 ** 40 + 5, "", "dépôt", "upload", "put"],
    ],
  );
  deepStrictEqual(decodeArgs(decoded.calls[0].args), [1, 2]);
  deepStrictEqual(decodeArgs(decoded.calls[1].args), ["näme", big, null]);
  deepStrictEqual([...decoded.calls[1].params], [0x81, 0x01]);
  deepStrictEqual(decoded.cancels.map((cancel: { call_id: number }) => cancel.call_id), [3, 300]);
  deepStrictEqual(decoded.acks.map((ack: { call_id: number; count: number }) => [ack.call_id, ack.count]), [[
    4,
    70_000,
  ]]);
});

const encode = (request: unknown) => StupidModalService.Session.requestSerialize(request as never) as Uint8Array;

/** A decoded request with its byte fields as plain arrays, to compare across decoders. */
function plain(
  request: { calls: Record<string, unknown>[]; cancels: unknown[]; acks: unknown[]; args_chunks: unknown[] },
) {
  return {
    calls: request.calls.map((call) => ({
      call_id: call.call_id,
      version: call.version,
      app_name: call.app_name,
      function: call.function,
      args: [...(call.args as Uint8Array)],
      method: call.method,
      params: [...(call.params as Uint8Array)],
      args_size: call.args_size,
      accept_chunks: call.accept_chunks,
    })),
    cancels: request.cancels,
    acks: request.acks,
    args_chunks: (request.args_chunks as { call_id: number; data: Uint8Array }[]).map((chunk) => ({
      call_id: chunk.call_id,
      data: [...chunk.data],
    })),
  };
}

Deno.test("the server's SessionRequest decoder reads what the contract writes as the contract reads it", () => {
  const requests = [
    { calls: [], cancels: [], acks: [] },
    {
      calls: [
        { call_id: 1, version: "abc", app_name: "demo", function: "add", args: new Uint8Array([0x82, 1, 2]) },
        { call_id: 2 ** 52 + 1, function: "f", method: "m", params: new Uint8Array([0x80]) },
        { call_id: 3, args: new Uint8Array([0x81]), args_size: 3, accept_chunks: true },
        {},
      ],
      cancels: [{ call_id: 9 }, {}],
      acks: [{ call_id: 4, count: 2 ** 32 - 1 }, { count: 3 }],
      args_chunks: [{ call_id: 3, data: new Uint8Array([1, 2]) }, {}],
    },
  ];
  for (const request of requests) {
    const bytes = encode(request);
    deepStrictEqual(plain(decodeSessionRequest(bytes) as never), plain(decode(bytes)));
  }
  // The caller's own encoding, with big arguments given as views, reads back whole.
  const big = new Uint8Array(200_000).map((_, i) => i % 7);
  const mine = encodeSessionRequest({
    calls: [{ call_id: 5, version: "v", app_name: "a", function: "f", args: encodeArgsParts([big]) }],
    cancels: [],
    acks: [],
  });
  deepStrictEqual(decodeArgs(decodeSessionRequest(mine).calls[0].args), [big]);
  const pieces = encodeSessionRequest({
    calls: [{ call_id: 6, version: "", app_name: "a", function: "f", args: [], args_size: 5, accept_chunks: true }],
    cancels: [],
    acks: [],
    args_chunks: [{ call_id: 6, data: [new Uint8Array([1, 2]), new Uint8Array([3])] }, { call_id: 7, data: [] }],
  });
  deepStrictEqual(plain(decodeSessionRequest(pieces) as never), plain(decode(pieces)));
  deepStrictEqual(plain(decode(pieces)).args_chunks, [{ call_id: 6, data: [1, 2, 3] }, { call_id: 7, data: [] }]);
  equal(decode(pieces).calls[0].args_size, 5);
});

Deno.test("the server's SessionRequest decoder skips unknown fields and keeps the last of a repeated scalar", () => {
  // calls { call_id 1: 7, unknown 11 (varint) 1, unknown 13 (fixed32), function 4: "x", call_id 1: 8 },
  // then an unknown top-level field 15 (fixed64).
  const call = [0x08, 7, 0x58, 1, 0x6d, 1, 2, 3, 4, 0x22, 1, 0x78, 0x08, 8];
  const bytes = new Uint8Array([0x0a, call.length, ...call, 0x79, 1, 2, 3, 4, 5, 6, 7, 8]);
  const request = decodeSessionRequest(bytes);
  equal(request.calls.length, 1);
  equal(request.calls[0].call_id, 8);
  equal(request.calls[0].function, "x");
  deepStrictEqual(plain(request as never), plain(decode(bytes)));
});

Deno.test("the server's SessionRequest decoder refuses bytes that are no SessionRequest, saying why", () => {
  const good = encodeSessionRequest({
    calls: [{ call_id: 1, version: "v", app_name: "a", function: "f", args: [new Uint8Array([0x80])] }],
    cancels: [],
    acks: [],
  });
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.byteLength - 1), /runs past the end/],
    [new Uint8Array([0x0a, 0x7f, 0x08]), /runs past the end/],
    [new Uint8Array([0x0a, 12, 0x08, ...Array(10).fill(0xff), 0x01]), /longer than 10 bytes/],
    [new Uint8Array([0x0a, 2, 0x08, 0xff]), /varint runs past the end/],
    [new Uint8Array([0x0b]), /wire type 3/],
    [new Uint8Array([0x00]), /field number 0/],
    [new Uint8Array([0x08, 0x01]), /field 1 has wire type 0, not 2/],
    [new Uint8Array([0x0a, 0x02, 0x12, 0x05]), /runs past the end/],
    [new Uint8Array([0x0a, 0x02, 0x0a, 0x00]), /field 1 has wire type 2, not 0/],
  ];
  for (const [bytes, reason] of cases) throws(() => decodeSessionRequest(bytes), reason, `bytes ${[...bytes]}`);
});
