/** The B1 baseline's caller: unary bytes echo calls to the baseline server, as promises. */
import * as grpc from "@grpc/grpc-js";
import { echoChannelOptions, echoService } from "./echo_service.ts";

const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

/** A connection to the B1 echo server. */
export interface EchoClient {
  /** One unary call; resolves with the echoed bytes. */
  echo(bytes: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/**
 * Opens a channel to the echo server at `address` (host:port).
 *
 * @example
 * ```ts
 * const client = connectEcho("127.0.0.1:50052");
 * await client.echo(new Uint8Array(8));
 * client.close();
 * ```
 */
export function connectEcho(address: string): EchoClient {
  const client = new EchoClient(address, grpc.credentials.createInsecure(), echoChannelOptions);
  const call = client.Echo.bind(client) as (
    request: Uint8Array,
    callback: (err: grpc.ServiceError | null, response: Uint8Array) => void,
  ) => void;
  return {
    echo: (bytes) =>
      new Promise((resolve, reject) => call(bytes, (err, response) => err ? reject(err) : resolve(response))),
    close: () => client.close(),
  };
}
