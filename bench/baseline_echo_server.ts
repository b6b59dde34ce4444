/**
 * B1 baseline server: a bare grpc-js unary bytes echo on a free loopback port, run as its own
 * process like our server. Prints "listening on HOST:PORT"; SIGTERM ends it.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { echoChannelOptions, echoService } from "./echo_service.ts";

const server = new grpc.Server(echoChannelOptions);
server.addService(echoService, {
  Echo: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) =>
    callback(null, call.request),
});
const port = await new Promise<number>((done, fail) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => err ? fail(err) : done(port))
);
console.log(`listening on 127.0.0.1:${port}`);
