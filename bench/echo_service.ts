/**
 * The B1 baseline's contract: one unary method that echoes raw bytes, defined with grpc-js's raw
 * serializers so that no protobuf or CBOR work muddies what plain gRPC costs.
 */
import { Buffer } from "node:buffer";
import type * as grpc from "@grpc/grpc-js";

/** Message size limit of both ends; above the 64 MiB big-payload case. */
export const maxMessageBytes = 256 * 1024 * 1024;

/** Channel and server options raising grpc-js's 4 MiB default limits. */
export const echoChannelOptions = {
  "grpc.max_receive_message_length": maxMessageBytes,
  "grpc.max_send_message_length": maxMessageBytes,
};

// Bytes pass through as they are: a view, never a copy.
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const identity = (bytes: Buffer) => bytes;

/**
 * The service definition: `/bench.Echo/Echo`, bytes in, the same bytes out.
 *
 * @example
 * ```ts
 * server.addService(echoService, { Echo: (call, callback) => callback(null, call.request) });
 * ```
 */
export const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: asBuffer,
    requestDeserialize: identity,
    responseSerialize: asBuffer,
    responseDeserialize: identity,
  },
};
