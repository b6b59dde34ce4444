/**
 * The Session RPC served straight on its HTTP/2 stream, the same gRPC on the wire, without
 * grpc-js's per-message call machinery: measured per warm call, grpc-js took ~11 µs from a DATA
 * frame to our handler (a decoder, an awaited decompression step, a paused and resumed object
 * stream) and ~7 µs from our write to HTTP/2; here a message is cut out of the DATA bytes, decoded
 * and handed over in the same turn, and a response is framed and written at once.
 */
import { EventEmitter } from "node:events";
import type { Buffer } from "node:buffer";
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { SessionRequest, SessionResponse } from "../wire/proto.ts";
import { GrpcMessageReader, writeGrpcMessage } from "../wire/grpc_messages.ts";
import type { SessionChannel } from "./session_stream.ts";

/** How a direct session reads and writes messages. */
export interface DirectSessionCodec {
  decode(bytes: Uint8Array): SessionRequest;
  encode(message: SessionResponse): Uint8Array;
  /** Largest request message taken. */
  maxMessageBytes: number;
}

// Compressed requests are refused (UNIMPLEMENTED); this tells clients to send none.
const responseHeaders = {
  ":status": 200,
  "content-type": "application/grpc+proto",
  "grpc-accept-encoding": "identity",
};

/**
 * Whether `headers` are a gRPC request; if not, answers it as grpc-js does (415) and says false.
 *
 * @example
 * ```ts
 * if (!acceptGrpc(stream, headers)) return;
 * ```
 */
export function acceptGrpc(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
  if (String(headers["content-type"] ?? "").startsWith("application/grpc")) return true;
  stream.respond({ ":status": 415 }, { endStream: true });
  return false;
}

/**
 * Ends a stream that never started with `error` as its gRPC status (a trailers-only response).
 *
 * @example
 * ```ts
 * refuseStream(stream, new StupidModalError(Code.UNAUTHENTICATED, "no token"));
 * ```
 */
export function refuseStream(stream: ServerHttp2Stream, error: StupidModalError): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ...responseHeaders, ...statusTrailers(error.code, error.message) }, { endStream: true });
}

/** The caller's metadata (authorization and the rest) from a stream's headers. */
export function requestMetadata(headers: IncomingHttpHeaders): grpc.Metadata {
  return grpc.Metadata.fromHttp2Headers(headers);
}

/**
 * A Session stream as `serveSession` uses it: "data" for each request, "end" when the caller
 * half-closes, "cancelled" when it resets the stream or goes away, "error" for a request that is
 * not a valid message (the stream then ends with INVALID_ARGUMENT), "close" last.
 */
export class DirectSession extends EventEmitter implements SessionChannel {
  #stream: ServerHttp2Stream;
  #codec: DirectSessionCodec;
  #reader: GrpcMessageReader;
  #status: { code: Code; message: string } = { code: Code.OK, message: "" };
  #ended = false;
  #aborted = false;
  #deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, codec: DirectSessionCodec) {
    super();
    this.#stream = stream;
    this.#codec = codec;
    this.#reader = new GrpcMessageReader(codec.maxMessageBytes);
    stream.respond(responseHeaders, { waitForTrailers: true });
    // A caller still sending when the status goes out (a refusal, a deadline, shutdown) stops on
    // reading it, as gRPC clients do; what it sends meanwhile is dropped.
    stream.on("wantTrailers", () => stream.sendTrailers(statusTrailers(this.#status.code, this.#status.message)));
    stream.on("data", (chunk: Buffer) => this.#receive(chunk));
    // Deno's node:http2 follows a reset ("aborted") with "end" as if the caller half-closed.
    stream.on("aborted", () => this.#aborted = true);
    stream.on("end", () => {
      if (this.#aborted) return;
      if (this.#reader.pendingBytes > 0) return this.#refuse(unreadable("the stream ended inside a message"));
      this.emit("end");
    });
    // A reset or a lost connection before our end: the caller is gone.
    stream.on("close", () => {
      clearTimeout(this.#deadline);
      if (!this.#ended || this.#aborted || stream.rstCode !== constants.NGHTTP2_NO_ERROR) this.emit("cancelled");
      this.emit("close");
    });
    stream.on("error", () => {
      // Followed by "close", which tells the session.
    });
    const timeoutMs = grpcTimeoutMs(headers["grpc-timeout"]);
    if (timeoutMs !== undefined) {
      this.#deadline = setTimeout(() => {
        this.#fail(Code.DEADLINE_EXCEEDED, "the session's deadline passed");
        this.emit("cancelled");
      }, timeoutMs);
    }
  }

  get writableEnded(): boolean {
    return this.#ended;
  }

  get destroyed(): boolean {
    return this.#stream.destroyed;
  }

  /** Writes one response; `done` runs once it is handed to the connection. */
  write(message: SessionResponse, done?: () => void): boolean {
    if (this.#ended || this.#stream.destroyed) return false;
    return writeGrpcMessage(this.#stream, this.#codec.encode(message), done);
  }

  /** Ends the stream with status OK (or the failure set before). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#deadline);
    if (!this.#stream.destroyed) this.#stream.end();
  }

  #receive(chunk: Buffer): void {
    if (this.#ended) return;
    let messages: Buffer[];
    try {
      messages = this.#reader.push(chunk);
    } catch (err) {
      return this.#refuse(err as StupidModalError);
    }
    for (const bytes of messages) {
      let request: SessionRequest;
      try {
        request = this.#codec.decode(bytes);
      } catch (err) {
        return this.#refuse(unreadable((err as Error).message));
      }
      this.emit("data", request);
      if (this.#ended) return;
    }
  }

  /** A request that cannot be taken ends the stream, as on grpc-js's path (malformed_requests.ts). */
  #refuse(error: StupidModalError): void {
    this.emit("error", error);
    this.#fail(error.code, error.message);
  }

  #fail(code: Code, message: string): void {
    if (this.#ended) return;
    this.#status = { code, message };
    this.end();
  }
}

function unreadable(reason: string): StupidModalError {
  return new StupidModalError(Code.INVALID_ARGUMENT, `the Session request is not a valid message: ${reason}`);
}

/** gRPC's status trailers; the message percent-encoded as the protocol asks. */
function statusTrailers(code: Code, message: string): Record<string, string> {
  const trailers: Record<string, string> = { "grpc-status": String(code) };
  if (message) trailers["grpc-message"] = percentEncoded(message);
  return trailers;
}

function percentEncoded(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The `grpc-timeout` header ("100m", "5S", …) in milliseconds; undefined if absent or unreadable. */
function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  const match = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (!match) return undefined;
  const perUnit: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return Math.min(Number(match[1]) * perUnit[match[2]], 2 ** 31 - 1);
}
