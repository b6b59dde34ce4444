/** Wire pieces: the transferable check, the version hash and executor frames. */
import { deepStrictEqual, equal, notEqual, rejects, throws } from "node:assert/strict";
import { appVersion } from "../src/wire/app_version.ts";
import { decodeArgs } from "../src/wire/codec.ts";
import { Code } from "../src/wire/errors.ts";
import { frameHeaderBytes, FrameKind, readFrames, writeFrameHeader } from "../src/sandbox/executor_frames.ts";
import type { FunctionSpec } from "../src/wire/proto.ts";
import { assertTransferable } from "../src/wire/transferable.ts";

Deno.test("data passes the transferable check; code and class instances do not", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assertTransferable([1, "s", null, undefined, 2n, new Map([[1, new Set([2])]]), new Date(), cyclic], "args");
  throws(() => assertTransferable({ f: () => 1 }, "args"), /args\.f is a function/);
  throws(() => assertTransferable([Symbol("x")], "args"), /args\[0\] is a symbol/);
  class Model {}
  throws(() => assertTransferable(new Map([["m", new Model()]]), "args"), /instance of Model/);
});

Deno.test("the version hash depends on content, not on order", async () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const spec = (name: string): FunctionSpec => ({
    name,
    module: "a.ts",
    permissions: { read: [], write: [], net: [], env: [] },
    timeout_ms: 0,
    memory_mb: 0,
  });
  const a = { path: "a.ts", content: encode("a") };
  const b = { path: "b.ts", content: encode("b") };
  const one = await appVersion("app", [a, b], [spec("f"), spec("g")]);
  equal(one, await appVersion("app", [b, a], [spec("g"), spec("f")]));
  notEqual(one, await appVersion("app", [a, { path: "b.ts", content: encode("B") }], [spec("f"), spec("g")]));
  notEqual(one, await appVersion("app", [a, b], [spec("f"), { ...spec("g"), timeout_ms: 5 }]));
  notEqual(one, await appVersion("other-app", [a, b], [spec("f"), spec("g")]));
  equal(one.length, 64);
});

Deno.test("executor frames survive any chunking of the byte stream", async () => {
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7), new Uint8Array()];
  const frames = payloads.map((payload, id) => {
    const header = new Uint8Array(frameHeaderBytes);
    writeFrameHeader(new DataView(header.buffer), 0, FrameKind.Done, id + 1, payload.byteLength);
    return [...header, ...payload];
  });
  const bytes = new Uint8Array(frames.flat());
  for (const size of [3, 1000, 4096, bytes.length]) {
    // A source that hands out at most `size` bytes per read, as a socket may.
    let offset = 0;
    const source = {
      read(buffer: Uint8Array): Promise<number | null> {
        if (offset === bytes.length) return Promise.resolve(null);
        const count = Math.min(size, buffer.byteLength, bytes.length - offset);
        buffer.set(bytes.subarray(offset, offset + count));
        offset += count;
        return Promise.resolve(count);
      },
    };
    const received: { kind: FrameKind; id: number; payload: Uint8Array }[] = [];
    await readFrames(source, (kind, id, payload) => received.push({ kind, id, payload }));
    deepStrictEqual(received.map((frame) => [frame.kind, frame.id, frame.payload.byteLength]), [
      [FrameKind.Done, 1, 3],
      [FrameKind.Done, 2, 70_000],
      [FrameKind.Done, 3, 0],
    ]);
    deepStrictEqual(received[1].payload, payloads[1]);
  }
});

Deno.test("a stream that ends inside a frame, or a frame over the limit, is refused", async () => {
  const frame = new Uint8Array(frameHeaderBytes + 4);
  writeFrameHeader(new DataView(frame.buffer), 0, FrameKind.Done, 1, 4);
  const once = (bytes: Uint8Array) => {
    let given = false;
    return {
      read(buffer: Uint8Array): Promise<number | null> {
        if (given) return Promise.resolve(null);
        given = true;
        buffer.set(bytes);
        return Promise.resolve(bytes.byteLength);
      },
    };
  };
  await rejects(readFrames(once(frame.subarray(0, 11)), () => {}), /ended inside a frame/);
  await rejects(readFrames(once(frame), () => {}, 10), /a frame of 13 bytes/);
});

Deno.test("arguments must be a CBOR array", () => {
  throws(() => decodeArgs(new Uint8Array([0xff, 0x00])), (err: { code: Code }) => err.code === Code.INVALID_ARGUMENT);
  throws(() => decodeArgs(new Uint8Array([0x01])), /must be one CBOR array/);
});
