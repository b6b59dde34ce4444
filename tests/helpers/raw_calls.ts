/**
 * Calls a server's RPCs with raw bytes as the request bodies (identity serializers), as a broken
 * or hostile client would, and reports the status each ends with.
 */
import * as grpc from "@grpc/grpc-js";

/** How a raw call ended. */
export interface RawOutcome {
  code: grpc.status;
  details: string;
  /** The response bodies received, undecoded. */
  responses: Uint8Array[];
}

const identity = (bytes: Buffer | Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * A client that sends and receives bodies as they are.
 *
 * @example
 * ```ts
 * const client = rawBytesClient("127.0.0.1:50051");
 * const outcome = await rawCall(client, "/stupidmodal.v1.StupidModal/ListApps", { requestStream: false, responseStream: false }, [new Uint8Array()], new grpc.Metadata(), 10);
 * ```
 */
export function rawBytesClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  });
}

/**
 * Sends `bodies` on `path` (one for a unary request, any number for a request stream) and resolves
 * with the status the call ended with; a call still open after `seconds` is cancelled by its
 * deadline (DEADLINE_EXCEEDED), so a server that never answers cannot hang the caller.
 */
export function rawCall(
  client: grpc.Client,
  path: string,
  kind: { requestStream: boolean; responseStream: boolean },
  bodies: Uint8Array[],
  metadata: grpc.Metadata,
  seconds: number,
): Promise<RawOutcome> {
  const options = { deadline: Date.now() + seconds * 1000 };
  const responses: Uint8Array[] = [];
  return new Promise((resolve) => {
    const finish = (status: grpc.StatusObject | grpc.ServiceError | null) =>
      resolve({ code: status?.code ?? grpc.status.OK, details: status?.details ?? "", responses });
    if (!kind.requestStream && !kind.responseStream) {
      client.makeUnaryRequest(path, identity, identity, bodies[0], metadata, options, (err, response) => {
        if (response) responses.push(response);
        finish(err ?? null);
      });
      return;
    }
    if (!kind.requestStream) {
      const stream = client.makeServerStreamRequest(path, identity, identity, bodies[0], metadata, options);
      stream.on("data", (body: Buffer) => responses.push(body));
      stream.on("error", () => {});
      stream.on("status", finish);
      return;
    }
    if (!kind.responseStream) {
      const stream = client.makeClientStreamRequest(path, identity, identity, metadata, options, (err, response) => {
        if (response) responses.push(response);
        finish(err ?? null);
      });
      stream.on("error", () => {});
      for (const body of bodies) stream.write(body);
      stream.end();
      return;
    }
    const stream = client.makeBidiStreamRequest(path, identity, identity, metadata, options);
    stream.on("data", (body: Buffer) => responses.push(body));
    stream.on("error", () => {});
    stream.on("status", finish);
    for (const body of bodies) stream.write(body);
    stream.end();
  });
}
