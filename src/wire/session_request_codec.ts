/**
 * A SessionRequest as protobuf bytes, written and read by hand: the caller copies a call's
 * arguments, given as parts (see cbor_parts.ts), once, straight into the message; the server reads
 * calls without the generic decoder's per-message objects, arguments as views of the message.
 * Field numbers as in protos/stupid_modal.proto.
 */
import { Buffer } from "node:buffer";
import { partsLength } from "./cbor_parts.ts";
import type { CallMessage, ChunkMessage, SessionRequest } from "./proto.ts";

/** A call as the caller sends it: the CBOR arguments as parts, written one after the other. */
export interface OutgoingCall {
  call_id: number;
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array[];
  method?: string;
  params?: Uint8Array;
  /** All the arguments' bytes, when `args` is only the first piece. */
  args_size?: number;
  accept_chunks?: boolean;
  /** Nonzero for the inputs of one map. */
  map_id?: number;
}

/** A further piece of a call's arguments, as parts written one after the other. */
export interface OutgoingChunk {
  call_id: number;
  data: Uint8Array[];
}

/** What a caller sends on its session stream. */
export interface OutgoingRequest {
  calls: OutgoingCall[];
  cancels: { call_id: number }[];
  acks: { call_id: number; count: number }[];
  args_chunks?: OutgoingChunk[];
}

// Wire types: 0 varint, 2 length-delimited.
const lengthDelimited = 2;

/** UTF-8 of the few names calls repeat (versions, apps, functions, methods), encoded once. */
const names = new Map<string, Uint8Array>();
const maxNames = 256;
const empty = new Uint8Array();

function utf8(name: string): Uint8Array {
  if (name === "") return empty;
  let bytes = names.get(name);
  if (!bytes) {
    if (names.size >= maxNames) names.clear();
    bytes = Buffer.from(name, "utf8");
    names.set(name, bytes);
  }
  return bytes;
}

/**
 * Encodes a SessionRequest (`Call`: call_id 1, version 2, app_name 3, function 4, args 5, method 6,
 * params 7, args_size 8, accept_chunks 9, map_id 10; `Cancel`: call_id 1; `Ack`: call_id 1, count 2;
 * `ArgsChunk`: call_id 1, data 2), default values left out.
 *
 * @example
 * ```ts
 * const bytes = encodeSessionRequest({ calls: [], cancels: [{ call_id: 7 }], acks: [] });
 * ```
 */
export function encodeSessionRequest(request: OutgoingRequest): Buffer {
  const calls = request.calls.map(measureCall);
  let total = 0;
  for (const call of calls) total += fieldBytes(1, call.size);
  for (const cancel of request.cancels) total += fieldBytes(2, varintField(1, cancel.call_id));
  for (const ack of request.acks) total += fieldBytes(3, varintField(1, ack.call_id) + varintField(2, ack.count));
  const chunks = request.args_chunks ?? [];
  for (const chunk of chunks) total += fieldBytes(4, chunkBytes(chunk));
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const call of calls) {
    at = writeTag(out, at, 1, lengthDelimited, call.size);
    at = writeVarintField(out, at, 1, call.call.call_id);
    at = writeBytes(out, at, 2, call.version);
    at = writeBytes(out, at, 3, call.appName);
    at = writeBytes(out, at, 4, call.functionName);
    if (call.argsBytes > 0) {
      at = writeTag(out, at, 5, lengthDelimited, call.argsBytes);
      for (const part of call.call.args) {
        out.set(part, at);
        at += part.byteLength;
      }
    }
    at = writeBytes(out, at, 6, call.method);
    const params = call.call.params;
    if (params && params.byteLength > 0) {
      at = writeTag(out, at, 7, lengthDelimited, params.byteLength);
      out.set(params, at);
      at += params.byteLength;
    }
    at = writeVarintField(out, at, 8, call.call.args_size ?? 0);
    at = writeVarintField(out, at, 9, call.call.accept_chunks ? 1 : 0);
    at = writeVarintField(out, at, 10, call.call.map_id ?? 0);
  }
  for (const cancel of request.cancels) {
    at = writeTag(out, at, 2, lengthDelimited, varintField(1, cancel.call_id));
    at = writeVarintField(out, at, 1, cancel.call_id);
  }
  for (const ack of request.acks) {
    at = writeTag(out, at, 3, lengthDelimited, varintField(1, ack.call_id) + varintField(2, ack.count));
    at = writeVarintField(out, at, 1, ack.call_id);
    at = writeVarintField(out, at, 2, ack.count);
  }
  for (const chunk of chunks) {
    at = writeTag(out, at, 4, lengthDelimited, chunkBytes(chunk));
    at = writeVarintField(out, at, 1, chunk.call_id);
    at = writeTag(out, at, 2, lengthDelimited, partsLength(chunk.data));
    for (const part of chunk.data) {
      out.set(part, at);
      at += part.byteLength;
    }
  }
  return out;
}

/** An ArgsChunk's bytes inside its field (its data field is written even when empty). */
function chunkBytes(chunk: OutgoingChunk): number {
  return varintField(1, chunk.call_id) + fieldBytes(2, partsLength(chunk.data));
}

interface MeasuredCall {
  call: OutgoingCall;
  size: number;
  version: Uint8Array;
  appName: Uint8Array;
  functionName: Uint8Array;
  method: Uint8Array;
  argsBytes: number;
}

function measureCall(call: OutgoingCall): MeasuredCall {
  const version = utf8(call.version);
  const appName = utf8(call.app_name);
  const functionName = utf8(call.function);
  const method = utf8(call.method ?? "");
  const argsBytes = partsLength(call.args);
  const paramsBytes = call.params?.byteLength ?? 0;
  const size = varintField(1, call.call_id) + stringField(2, version.byteLength) +
    stringField(3, appName.byteLength) + stringField(4, functionName.byteLength) + stringField(5, argsBytes) +
    stringField(6, method.byteLength) + stringField(7, paramsBytes) + varintField(8, call.args_size ?? 0) +
    varintField(9, call.accept_chunks ? 1 : 0) + varintField(10, call.map_id ?? 0);
  return { call, size, version, appName, functionName, method, argsBytes };
}

/** Bytes of a length-delimited field with `length` bytes of content; none when empty. */
function stringField(field: number, length: number): number {
  return length === 0 ? 0 : fieldBytes(field, length);
}

function fieldBytes(field: number, length: number): number {
  return varintBytes(field << 3) + varintBytes(length) + length;
}

/** Bytes of a varint field; none for 0. */
function varintField(field: number, value: number): number {
  return value === 0 ? 0 : varintBytes(field << 3) + varintBytes(value);
}

function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

function writeTag(out: Buffer, at: number, field: number, wireType: number, length: number): number {
  at = writeVarint(out, at, (field << 3) | wireType);
  return wireType === lengthDelimited ? writeVarint(out, at, length) : at;
}

function writeVarintField(out: Buffer, at: number, field: number, value: number): number {
  if (value === 0) return at;
  at = writeVarint(out, at, field << 3);
  return writeVarint(out, at, value);
}

function writeBytes(out: Buffer, at: number, field: number, bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return at;
  at = writeTag(out, at, field, lengthDelimited, bytes.byteLength);
  out.set(bytes, at);
  return at + bytes.byteLength;
}

// Wire types a reader can skip: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.
const varint = 0;
const fixed64 = 1;
const fixed32 = 5;
const utf8Decoder = new TextDecoder();

/**
 * Reads a SessionRequest as the contract's decoder would (defaults for absent fields, the last of
 * a repeated scalar field, unknown fields skipped), with `args` and `params` as views of `bytes`.
 * Throws an Error saying what is wrong with bytes that are no such message.
 *
 * @example
 * ```ts
 * const request = decodeSessionRequest(encodeSessionRequest({ calls: [], cancels: [{ call_id: 7 }], acks: [] }));
 * ```
 */
export function decodeSessionRequest(bytes: Uint8Array): SessionRequest {
  const request: SessionRequest = { calls: [], cancels: [], acks: [], args_chunks: [] };
  const reader = new Reader(bytes, 0, bytes.byteLength);
  while (reader.more()) {
    const [field, wireType] = reader.tag();
    if (field >= 1 && field <= 4) {
      const inner = reader.message(field, wireType);
      if (field === 1) request.calls.push(readCall(inner));
      else if (field === 2) request.cancels.push(readCancel(inner));
      else if (field === 3) request.acks.push(readAck(inner));
      else request.args_chunks.push(readChunk(inner));
    } else reader.skip(wireType);
  }
  return request;
}

function readCall(reader: Reader): CallMessage {
  const call: CallMessage = {
    call_id: 0,
    version: "",
    app_name: "",
    function: "",
    args: empty,
    method: "",
    params: empty,
    args_size: 0,
    accept_chunks: false,
    map_id: 0,
  };
  while (reader.more()) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1:
        call.call_id = reader.varint(field, wireType);
        break;
      case 2:
        call.version = reader.string(field, wireType);
        break;
      case 3:
        call.app_name = reader.string(field, wireType);
        break;
      case 4:
        call.function = reader.string(field, wireType);
        break;
      case 5:
        call.args = reader.bytes(field, wireType);
        break;
      case 6:
        call.method = reader.string(field, wireType);
        break;
      case 7:
        call.params = reader.bytes(field, wireType);
        break;
      case 8:
        call.args_size = reader.varint(field, wireType);
        break;
      case 9:
        call.accept_chunks = reader.varint(field, wireType) !== 0;
        break;
      case 10:
        call.map_id = reader.varint(field, wireType);
        break;
      default:
        reader.skip(wireType);
    }
  }
  return call;
}

function readChunk(reader: Reader): ChunkMessage {
  const chunk: ChunkMessage = { call_id: 0, data: empty };
  while (reader.more()) {
    const [field, wireType] = reader.tag();
    if (field === 1) chunk.call_id = reader.varint(field, wireType);
    else if (field === 2) chunk.data = reader.bytes(field, wireType);
    else reader.skip(wireType);
  }
  return chunk;
}

function readCancel(reader: Reader): { call_id: number } {
  const cancel = { call_id: 0 };
  while (reader.more()) {
    const [field, wireType] = reader.tag();
    if (field === 1) cancel.call_id = reader.varint(field, wireType);
    else reader.skip(wireType);
  }
  return cancel;
}

function readAck(reader: Reader): { call_id: number; count: number } {
  const ack = { call_id: 0, count: 0 };
  while (reader.more()) {
    const [field, wireType] = reader.tag();
    if (field === 1) ack.call_id = reader.varint(field, wireType);
    // uint32: the low 32 bits, as the contract's decoder takes them.
    else if (field === 2) ack.count = reader.varint(field, wireType) % 2 ** 32;
    else reader.skip(wireType);
  }
  return ack;
}

/** Reads protobuf fields from `bytes[at, end)`. */
class Reader {
  constructor(readonly buffer: Uint8Array, public at: number, readonly end: number) {}

  more(): boolean {
    return this.at < this.end;
  }

  /** The next field's number and wire type. */
  tag(): [number, number] {
    const key = this.#varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new Error(`field number 0 at byte ${this.at}`);
    return [field, key % 8];
  }

  varint(field: number, wireType: number): number {
    this.#expect(field, wireType, varint);
    return this.#varint();
  }

  bytes(field: number, wireType: number): Uint8Array {
    this.#expect(field, wireType, lengthDelimited);
    const start = this.#length();
    return this.buffer.subarray(start, this.at);
  }

  string(field: number, wireType: number): string {
    this.#expect(field, wireType, lengthDelimited);
    const start = this.#length();
    return start === this.at ? "" : utf8Decoder.decode(this.buffer.subarray(start, this.at));
  }

  /** A reader of the embedded message in field `field`. */
  message(field: number, wireType: number): Reader {
    this.#expect(field, wireType, lengthDelimited);
    const start = this.#length();
    return new Reader(this.buffer, start, this.at);
  }

  skip(wireType: number): void {
    if (wireType === varint) this.#varint();
    else if (wireType === lengthDelimited) this.#length();
    else if (wireType === fixed64) this.#advance(8);
    else if (wireType === fixed32) this.#advance(4);
    else throw new Error(`wire type ${wireType} at byte ${this.at} (groups and unknown types are not read)`);
  }

  /** Skips a length-delimited field's content; returns where it began. */
  #length(): number {
    const length = this.#varint();
    const start = this.at;
    this.#advance(length);
    return start;
  }

  #advance(count: number): void {
    if (count > this.end - this.at) {
      throw new Error(`a field of ${count} bytes at byte ${this.at} runs past the end (${this.end})`);
    }
    this.at += count;
  }

  #varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new Error(`a varint runs past the end (${this.end})`);
      const byte = this.buffer[this.at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new Error(`a varint longer than 10 bytes ending at byte ${this.at}`);
  }

  #expect(field: number, got: number, wanted: number): void {
    if (got !== wanted) throw new Error(`field ${field} has wire type ${got}, not ${wanted}`);
  }
}
