/**
 * Hands the Session RPC's HTTP/2 streams to a handler of ours (direct_session.ts) and every other
 * stream to grpc-js as before, on the connections grpc-js accepts: keepalive, TLS, shutdown and
 * every other RPC stay grpc-js's. grpc-js has no public hook for this, so it reaches into its
 * Server's `http2Servers` map (grpc-js 1.14, pinned in deno.json); where that is not found, it
 * changes nothing and grpc-js serves sessions itself, as it still can.
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type * as grpc from "@grpc/grpc-js";

/** Serves one stream of the routed path. */
export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/**
 * Routes streams of `path` on `server`'s bound ports to `handler`; returns whether it could.
 * Call it after `bindAsync` has bound.
 *
 * @example
 * ```ts
 * routeStreams(server, "/stupidmodal.v1.StupidModal/Session", serveDirect);
 * ```
 */
export function routeStreams(server: grpc.Server, path: string, handler: StreamHandler): boolean {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) return false;
  const targets = [...http2Servers.keys()] as Http2Server[];
  // grpc-js listens for streams with one handler per server; anything else is not the shape known.
  if (!targets.every((target) => typeof target.listeners === "function" && target.listeners("stream").length === 1)) {
    return false;
  }
  for (const target of targets) {
    const grpcHandler = target.listeners("stream")[0] as (...args: unknown[]) => void;
    target.removeListener("stream", grpcHandler);
    target.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
      if (headers[":path"] === path) handler(stream, headers);
      else grpcHandler.call(target, stream, headers, ...rest);
    });
  }
  return true;
}
