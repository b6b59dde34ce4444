/**
 * A SessionRequest as protobuf bytes, written by hand so that a call's arguments, given as parts
 * (see cbor_parts.ts), are copied once, straight into the message. Field numbers as in
 * protos/stupid_modal.proto; the server reads it with the ordinary decoder.
 */
import { Buffer } from "node:buffer";

/** A call as the caller sends it: the CBOR arguments as parts, written one after the other. */
export interface OutgoingCall {
  call_id: number;
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array[];
  method?: string;
  params?: Uint8Array;
}

/** What a caller sends on its session stream. */
export interface OutgoingRequest {
  calls: OutgoingCall[];
  cancels: { call_id: number }[];
  acks: { call_id: number; count: number }[];
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
 * params 7; `Cancel`: call_id 1; `Ack`: call_id 1, count 2), default values left out.
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
  return out;
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
  let argsBytes = 0;
  for (const part of call.args) argsBytes += part.byteLength;
  const paramsBytes = call.params?.byteLength ?? 0;
  const size = varintField(1, call.call_id) + stringField(2, version.byteLength) +
    stringField(3, appName.byteLength) + stringField(4, functionName.byteLength) + stringField(5, argsBytes) +
    stringField(6, method.byteLength) + stringField(7, paramsBytes);
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
