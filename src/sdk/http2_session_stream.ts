/**
 * The caller's Session stream over node:http2 itself, for a plaintext server at one address (the
 * server serves it the same way, src/server/direct_session.ts): grpc-js's client call layers
 * cost a warm call ~12 µs (~4 µs from our write to HTTP/2, ~8 µs from a DATA frame to our
 * handler). The same gRPC on the wire. TLS and several addresses (a cluster) keep grpc-js's
 * channel, which brings certificates, balancing and keepalive.
 */
import { EventEmitter } from "node:events";
import type { Buffer } from "node:buffer";
import http2 from "node:http2";
import { Code, StupidModalError } from "../wire/errors.ts";
import { GrpcMessageReader, writeGrpcMessage } from "../wire/grpc_messages.ts";
import type { SessionResponse } from "../wire/proto.ts";
import type { OutgoingRequest } from "../wire/session_request_codec.ts";

/** Results of many MiB arrive without waiting for a window update every 64 KiB (as grpc-js is set). */
const windowBytes = 16 * 1024 * 1024;

/** How the stream writes requests and reads responses. */
export interface SessionCodec {
  encode(request: OutgoingRequest): Uint8Array;
  decode(bytes: Uint8Array): SessionResponse;
}

/**
 * One HTTP/2 connection to the server, opened on the first stream and again after it is lost; it
 * keeps the process alive only while a stream is open.
 */
export class Http2SessionConnection {
  #authority: string;
  /** The connection, and its streams open now. */
  #current: { connection: http2.ClientHttp2Session; open: number } | undefined;

  /** `address` as in STUPID_MODAL_SERVER: `host:port` or `[ipv6]:port`. */
  constructor(address: string) {
    this.#authority = `http://${address}`;
  }

  /** Opens a Session stream on `path` with `headers` (the caller's metadata). */
  open(path: string, headers: Record<string, string>, codec: SessionCodec): Http2SessionStream {
    const current = this.#connect();
    const { connection } = current;
    const stream = connection.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": "identity",
      ...headers,
    });
    if (current.open++ === 0) connection.ref();
    stream.on("close", () => {
      if (--current.open === 0 && !connection.destroyed) connection.unref();
    });
    return new Http2SessionStream(stream, codec);
  }

  close(): void {
    this.#current?.connection.close();
    this.#current = undefined;
  }

  #connect(): { connection: http2.ClientHttp2Session; open: number } {
    const held = this.#current?.connection;
    if (held && !held.closed && !held.destroyed) return this.#current!;
    const connection = http2.connect(this.#authority, { settings: { initialWindowSize: windowBytes } });
    connection.on("connect", () => connection.setLocalWindowSize(windowBytes));
    const current = { connection, open: 0 };
    // A lost connection fails its streams (each hears it); the next stream connects again.
    const forget = () => {
      if (this.#current === current) this.#current = undefined;
    };
    connection.on("error", forget);
    connection.on("goaway", forget);
    connection.on("close", forget);
    this.#current = current;
    return current;
  }
}

/**
 * A Session stream as the SDK's session uses it (the subset of grpc-js's duplex stream it needs):
 * "data" for each response, "end" on status OK, "error" with a StupidModalError otherwise.
 */
export class Http2SessionStream extends EventEmitter {
  #stream: http2.ClientHttp2Stream;
  #codec: SessionCodec;
  #reader = new GrpcMessageReader(Number.MAX_SAFE_INTEGER);
  #httpStatus = 0;
  #status: { code: number; message: string } | undefined;
  #settled = false;

  constructor(stream: http2.ClientHttp2Stream, codec: SessionCodec) {
    super();
    this.#stream = stream;
    this.#codec = codec;
    stream.on("response", (headers) => {
      this.#httpStatus = Number(headers[":status"]);
      this.#readStatus(headers);
    });
    stream.on("trailers", (trailers) => this.#readStatus(trailers));
    stream.on("data", (chunk: Buffer) => this.#receive(chunk));
    stream.on("error", (err: Error) => {
      const cause = (err as { cause?: Error }).cause ?? err;
      this.#settle(new StupidModalError(Code.UNAVAILABLE, cause.message, { cause: err }));
    });
    stream.on("close", () => this.#settle());
  }

  /** Writes one request; `done` runs once it is handed to the connection. */
  write(request: OutgoingRequest, done?: () => void): boolean {
    if (this.#settled || this.#stream.destroyed) return false;
    return writeGrpcMessage(this.#stream, this.#codec.encode(request), done);
  }

  /** Half-closes: the server ends the stream once its calls are done. */
  end(): void {
    if (!this.#stream.destroyed) this.#stream.end();
  }

  /** Resets the stream; the server cancels its calls. */
  cancel(): void {
    this.#settled = true;
    if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  #receive(chunk: Buffer): void {
    if (this.#settled) return;
    let messages: Buffer[];
    try {
      messages = this.#reader.push(chunk);
    } catch (err) {
      return this.#fail(StupidModalError.from(err));
    }
    for (const bytes of messages) {
      let response: SessionResponse;
      try {
        response = this.#codec.decode(bytes);
      } catch (err) {
        return this.#fail(new StupidModalError(Code.INTERNAL, `the server sent an unreadable message: ${err}`));
      }
      this.emit("data", response);
      if (this.#settled) return;
    }
  }

  #readStatus(fields: http2.IncomingHttpHeaders): void {
    if (fields["grpc-status"] === undefined) return;
    this.#status = {
      code: Number(fields["grpc-status"]),
      message: percentDecoded(String(fields["grpc-message"] ?? "")),
    };
  }

  #fail(error: StupidModalError): void {
    this.#settle(error);
    this.cancel();
  }

  /** Tells the outcome once: the status, else what ended the stream without one. */
  #settle(error?: StupidModalError): void {
    if (this.#settled) return;
    this.#settled = true;
    const status = this.#status;
    if (error) this.emit("error", error);
    else if (status && status.code === Code.OK) this.emit("end");
    else if (status) this.emit("error", new StupidModalError(status.code, status.message || `status ${status.code}`));
    else if (this.#httpStatus !== 0 && this.#httpStatus !== 200) {
      this.emit("error", new StupidModalError(httpStatusCode(this.#httpStatus), `HTTP status ${this.#httpStatus}`));
    } else {
      const reset = this.#stream.rstCode;
      this.emit("error", new StupidModalError(Code.UNAVAILABLE, `the stream ended without a status (reset ${reset})`));
    }
  }
}

/** A `grpc-message` as sent (percent-encoded UTF-8); as it came if it is not valid encoding. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** gRPC's mapping of an HTTP status that is not 200 to a status code. */
function httpStatusCode(status: number): Code {
  switch (status) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}
