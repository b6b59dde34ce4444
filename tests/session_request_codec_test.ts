/** The caller's hand-written SessionRequest encoding reads back, field by field, with the contract's decoder. */
import { deepStrictEqual } from "node:assert/strict";
import { encodeArgsParts, largeBytes } from "../src/wire/cbor_parts.ts";
import { decodeArgs } from "../src/wire/codec.ts";
import { StupidModalService } from "../src/wire/proto.ts";
import { encodeSessionRequest } from "../src/wire/session_request_codec.ts";

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
