/**
 * The server's web port: an HTTP server (Deno.serve) on the gRPC host whose router serves the web
 * endpoints under `/apps/`, with one log line per request and a graceful close.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { AppStore } from "./app_store.ts";
import type { Authenticator } from "./auth.ts";
import type { Scheduler } from "./scheduler.ts";
import { readBoundedBody } from "./bounded_body.ts";
import { errorResponse } from "./http_status.ts";
import { webEndpointHandler } from "./web_endpoints.ts";
import { WebRouter } from "./web_router.ts";

/** Where to listen and what to serve. */
export interface WebServerOptions {
  /** The host to listen on (the gRPC host; unbracketed for IPv6). */
  hostname: string;
  /** The port; 0 picks a free one. */
  port: number;
  auth: Authenticator;
  store: AppStore;
  scheduler: Scheduler;
  maxPayloadBytes: number;
  /** Where one line per request goes, and internal errors. */
  log: (line: string) => void;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Adds more routes (the dashboard's) after the web endpoints; `closing` aborts when the server closes. */
  routes?: (router: WebRouter, closing: AbortSignal) => void;
}

/** A listening web server. */
export interface WebServer {
  /** The port it listens on. */
  readonly port: number;
  /** Its base URL, `http://127.0.0.1:8080`. */
  readonly url: string;
  /**
   * Stops accepting connections and refuses bodies still arriving; resolves once every request
   * in progress has been answered (calls in progress finish, or fail when the scheduler closes).
   */
  close(): Promise<void>;
}

/**
 * Starts listening at once; throws (for example AddrInUse) when it cannot.
 *
 * @example
 * ```ts
 * const web = startWebServer({ hostname: "127.0.0.1", port: 0, auth, store, scheduler, maxPayloadBytes, log });
 * console.log(`web endpoints on ${web.url}/apps/<app>/<function>`);
 * await web.close();
 * ```
 */
export function startWebServer(options: WebServerOptions): WebServer {
  const { hostname, port, auth, store, scheduler, maxPayloadBytes, log } = options;
  const closing = new AbortController();
  const router = new WebRouter()
    .route(
      "/apps/:app/:function",
      webEndpointHandler({ auth, store, scheduler, maxPayloadBytes, closing: closing.signal }),
    );
  options.routes?.(router, closing.signal);

  const serve = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> => {
    const started = performance.now();
    let response: Response;
    try {
      response = await router.handle(request, { address: info.remoteAddr.hostname });
    } catch (err) {
      if (!(err instanceof StupidModalError)) {
        log(`internal error in a web request: ${err instanceof Error ? err.stack : String(err)}`);
      }
      response = errorResponse(
        err instanceof StupidModalError
          ? err
          : new StupidModalError(Code.INTERNAL, "internal error (details are in the server's log)"),
      );
    }
    // An answer sent before the body was read (a 401 or 404, say) ends the HTTP/2 stream while
    // the client still sends it, and curl then fails with "Stream error in the HTTP/2 framing layer".
    if (request.body && !request.bodyUsed) {
      await readBoundedBody(request, maxPayloadBytes, closing.signal).catch(() => {});
    }
    const ms = (performance.now() - started).toFixed(1);
    log(`web ${request.method} ${new URL(request.url).pathname} ${response.status} ${ms}ms`);
    return response;
  };

  const server = Deno.serve({ hostname, port, onListen: () => {}, ...options.tls }, serve);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  let closed: Promise<void> | undefined;
  return {
    port: server.addr.port,
    url: `${options.tls ? "https" : "http"}://${host}:${server.addr.port}`,
    close() {
      closing.abort();
      return closed ??= server.shutdown();
    },
  };
}
