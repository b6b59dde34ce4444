/**
 * The connection to a Stupid Modal server: one gRPC channel, one multiplexed session stream,
 * code registration by content hash. `App` makes one for you; make your own to choose settings.
 *
 * @module
 */
import "./src/sdk/env_guard.ts";
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { decodeValue, encodeValue } from "./src/wire/codec.ts";
import { Code, StupidModalError } from "./src/wire/errors.ts";
import {
  type AppLogEntry,
  type AppLogsRequest,
  type AuditEntry,
  type CallInfo,
  type DeployResponse,
  type GetCallResponse,
  type ListAppsResponse,
  type RegisterAppRequest,
  type Scope,
  type SecretInfo,
  StupidModalClient,
  StupidModalService,
  type TokenInfo,
} from "./src/wire/proto.ts";
import { encodeArgsParts, partsLength } from "./src/wire/cbor_parts.ts";
import { encodeSessionRequest } from "./src/wire/session_request_codec.ts";
import { assertTransferable } from "./src/wire/transferable.ts";
import { type ConnectionOptions, type ConnectionSettings, connectionSettings } from "./src/sdk/connection_settings.ts";
import { type LogHandler, Session } from "./src/sdk/session.ts";
import { Http2SessionConnection } from "./src/sdk/http2_session_stream.ts";
import { channelTarget } from "./src/sdk/channel_target.ts";

export type { ConnectionOptions } from "./src/sdk/connection_settings.ts";

/** Inputs per SpawnMap message, by encoded size: large enough to batch, small enough to stream. */
const spawnMapMessageBytes = 256 * 1024;

/**
 * Options of a Client.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { server: "127.0.0.1:50051", onLog: (line) => console.log(line.text) };
 * ```
 */
export interface ClientOptions extends ConnectionOptions {
  /** Where remote log lines go; by default they print to this terminal, marked as remote. */
  onLog?: (line: RemoteLogLine) => void;
}

/** One line a remote function printed. */
export interface RemoteLogLine {
  function: string;
  stream: "stdout" | "stderr";
  text: string;
}

/** Which function a call runs: an app version (content hash) or an app's latest version, by name. */
export interface CallTarget {
  version?: string;
  appName?: string;
  functionName: string;
  /** For a class: the method, and the constructor parameters of the instance to call it on. */
  method?: string;
  params?: unknown[];
  /** The map this call is an input of (numbered by the caller): the server logs a map's inputs together. */
  mapId?: number;
}

/**
 * A connection to a server.
 *
 * @example
 * ```ts
 * const client = new Client({ server: "127.0.0.1:50051" });
 * const sum = await client.call({ appName: "demo", functionName: "add" }, [1, 2]);
 * client.close();
 * ```
 */
export class Client {
  readonly settings: ConnectionSettings;
  #rpc: grpc.Client & Record<string, CallableFunction>;
  #session: Session;
  #direct: Http2SessionConnection | undefined;
  #onLog: (line: RemoteLogLine) => void;
  #registered = new Map<string, Promise<string>>();
  #maxPayloadBytes = Infinity;

  constructor(options: ClientOptions = {}) {
    this.settings = connectionSettings(options);
    this.#onLog = options.onLog ?? printRemoteLine;
    // Several addresses (a cluster's nodes): one channel, calls round-robin over them.
    const { target, hosts, options: targetOptions } = channelTarget(this.settings.server);
    const { credentials, options: tlsOptions } = channelCredentials(this.settings, hosts);
    this.#rpc = new StupidModalClient(target, credentials, {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      // Results of many MiB arrive without waiting for a window update every 64 KiB.
      "grpc-node.flow_control_window": 16 * 1024 * 1024,
      ...targetOptions,
      ...tlsOptions,
    }) as grpc.Client & Record<string, CallableFunction>;
    // A plaintext server at one address: sessions over HTTP/2 directly (http2_session_stream.ts).
    const direct = !this.settings.tls && hosts.length === 1 && !target.startsWith("dns:")
      ? new Http2SessionConnection(this.settings.server)
      : undefined;
    this.#direct = direct;
    const codec = { encode: encodeSessionRequest, decode: StupidModalService.Session.responseDeserialize };
    this.#session = new Session(
      // Written by hand: large arguments are copied once, straight into the message.
      () =>
        direct ? direct.open(StupidModalService.Session.path, this.#headers(), codec) : this.#rpc.makeBidiStreamRequest(
          StupidModalService.Session.path,
          encodeSessionRequest,
          StupidModalService.Session.responseDeserialize,
          this.#metadata(),
        ),
      (err) => this.#describe(err),
    );
  }

  /**
   * Registers an app version unless the server already holds it; resolves with its version hash.
   * Code travels once per content hash.
   */
  registerApp(request: RegisterAppRequest): Promise<string> {
    let registered = this.#registered.get(request.version);
    if (!registered) {
      registered = this.#register(request);
      this.#registered.set(request.version, registered);
      registered.catch(() => this.#registered.delete(request.version));
    }
    return registered;
  }

  /** Calls a function with arguments; resolves with its result. */
  async call(target: CallTarget, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    const encoded = this.#encodeCallArgs(args);
    const onLog: LogHandler = (line) =>
      this.#onLog({ function: target.functionName, stream: line.stream === 1 ? "stderr" : "stdout", text: line.text });
    const value = await this.#session.call(
      {
        version: target.version ?? "",
        app_name: target.appName ?? "",
        function: target.functionName,
        args: encoded,
        method: target.method ?? "",
        params: target.params && target.params.length > 0 ? this.#encodeArgs(target.params) : new Uint8Array(),
        map_id: target.mapId,
      },
      onLog,
      signal,
    );
    return decodeValue(value, "result");
  }

  /**
   * Calls a generator function; yields each value it yields, as it comes. The function runs ahead
   * of this loop by a bounded number of items, never more (backpressure). Leaving the loop early
   * cancels the call.
   */
  async *callStream(target: CallTarget, args: unknown[], signal?: AbortSignal): AsyncGenerator<unknown> {
    const encoded = this.#encodeCallArgs(args);
    const onLog: LogHandler = (line) =>
      this.#onLog({ function: target.functionName, stream: line.stream === 1 ? "stderr" : "stdout", text: line.text });
    const items: { value: Uint8Array; ack: () => void }[] = [];
    let wake = Promise.withResolvers<void>();
    let finished = false;
    let failure: unknown;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = this.#session.call(
      { version: target.version ?? "", app_name: target.appName ?? "", function: target.functionName, args: encoded },
      onLog,
      stop.signal,
      (value, ack) => {
        items.push({ value, ack });
        wake.resolve();
      },
    ).then(
      () => finished = true,
      (err) => failure = err ?? new Error("call failed"),
    ).finally(() => wake.resolve());
    try {
      while (true) {
        const item = items.shift();
        if (item) {
          item.ack();
          yield decodeValue(item.value, "yielded value");
          continue;
        }
        if (failure !== undefined) throw failure;
        if (finished) return;
        await wake.promise;
        wake = Promise.withResolvers<void>();
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished && failure === undefined) stop.abort();
      await done;
    }
  }

  /** Queues a call that runs whether or not this process stays; resolves with its id. */
  async spawn(target: CallTarget, args: unknown[]): Promise<string> {
    const response = await this.#unary<{ call_id: string }>("Spawn", {
      version: target.version ?? "",
      app_name: target.appName ?? "",
      function: target.functionName,
      args: this.#encodeArgs(args),
    });
    return response.call_id;
  }

  /** Queues one call per argument list as one batch; resolves with the batch's id. */
  spawnMap(target: CallTarget, inputs: AsyncIterable<unknown[]>): Promise<string> {
    return new Promise((resolve, reject) => {
      const stream = this.#rpc.SpawnMap(this.#metadata(), (err: unknown, response: { call_id: string }) => {
        if (err) reject(this.#describe(err));
        else resolve(response.call_id);
      });
      (async () => {
        const first = { version: target.version ?? "", app_name: target.appName ?? "", function: target.functionName };
        let batch: Uint8Array[] = [];
        let bytes = 0;
        let sentFirst = false;
        const send = async () => {
          const message = { ...(sentFirst ? {} : first), args: batch };
          sentFirst = true;
          batch = [];
          bytes = 0;
          // Respect the stream's flow control, so a huge batch does not pile up in memory.
          if (!stream.write(message)) {
            // A stream that failed meanwhile never drains: stop waiting then too.
            await new Promise((done) => {
              stream.once("drain", done);
              stream.once("error", done);
            });
          }
        };
        for await (const args of inputs) {
          const encoded = this.#encodeArgs(args);
          if (bytes + encoded.byteLength > spawnMapMessageBytes && batch.length > 0) await send();
          batch.push(encoded);
          bytes += encoded.byteLength;
        }
        if (batch.length > 0 || !sentFirst) await send();
        stream.end();
      })().catch((err) => {
        stream.cancel();
        reject(StupidModalError.from(err));
      });
    });
  }

  /** The state of a spawned call, waiting up to `timeoutMs` for it to finish. */
  getCall(callId: string, timeoutMs: number): Promise<GetCallResponse> {
    return this.#unary<GetCallResponse>("GetCall", { call_id: callId, timeout_ms: timeoutMs });
  }

  /** Cancels a spawned call or batch. */
  async cancelCall(callId: string): Promise<void> {
    await this.#unary("CancelCall", { call_id: callId });
  }

  /** Makes a registered version the deployed version of its app. */
  deploy(appName: string, version: string): Promise<DeployResponse> {
    return this.#unary<DeployResponse>("Deploy", { app_name: appName, version });
  }

  /** Deployed apps with their functions; one app (or NOT_FOUND) when a name is given. */
  listApps(appName = ""): Promise<ListAppsResponse> {
    return this.#unary<ListAppsResponse>("ListApps", { app_name: appName });
  }

  /** Stops a deployed app: no new calls by its name, no schedules, no web endpoints. */
  async stopApp(appName: string): Promise<void> {
    await this.#unary("StopApp", { app_name: appName });
  }

  /** An app's recent log lines; with `follow`, new ones until `signal` aborts. */
  async *appLogs(
    request: Partial<AppLogsRequest> & { app_name: string },
    signal?: AbortSignal,
  ): AsyncGenerator<AppLogEntry> {
    const stream = this.#rpc.AppLogs(
      { tail: 0, follow: false, ...request },
      this.#metadata(),
    ) as grpc.ClientReadableStream<
      AppLogEntry
    >;
    const onAbort = () => stream.cancel();
    signal?.addEventListener("abort", onAbort);
    try {
      for await (const entry of stream) yield entry as AppLogEntry;
    } catch (err) {
      if (!signal?.aborted) throw this.#describe(err);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      stream.cancel();
    }
  }

  /** Spawned, scheduled and web calls, newest first. */
  async listCalls(appName = "", limit = 0): Promise<CallInfo[]> {
    return (await this.#unary<{ calls: CallInfo[] }>("ListCalls", { app_name: appName, limit })).calls;
  }

  /** Creates or replaces a named secret; its values are never sent back. */
  async setSecret(name: string, values: Record<string, string>): Promise<void> {
    await this.#unary("SetSecret", { name, values });
  }

  /** The secrets' names and keys. */
  async listSecrets(): Promise<SecretInfo[]> {
    return (await this.#unary<{ secrets: SecretInfo[] }>("ListSecrets", {})).secrets;
  }

  /** Deletes a named secret. */
  async deleteSecret(name: string): Promise<void> {
    await this.#unary("DeleteSecret", { name });
  }

  /** Creates a named token; resolves with the token, which the server does not keep. */
  async createToken(
    name: string,
    scopes: Scope[],
    limits: { maxConcurrentCalls?: number; maxQueuedInputs?: number } = {},
  ): Promise<string> {
    const request = {
      name,
      scopes,
      max_concurrent_calls: limits.maxConcurrentCalls ?? 0,
      max_queued_inputs: limits.maxQueuedInputs ?? 0,
    };
    return (await this.#unary<{ token: string }>("CreateToken", request)).token;
  }

  /** The named tokens, never their secrets. */
  async listTokens(): Promise<TokenInfo[]> {
    return (await this.#unary<{ tokens: TokenInfo[] }>("ListTokens", {})).tokens;
  }

  /** Revokes a named token at once. */
  async revokeToken(name: string): Promise<void> {
    await this.#unary("RevokeToken", { name });
  }

  /** The audit log, newest first; of one token's actions when `token` is given. */
  async listAudit(limit = 0, token = ""): Promise<AuditEntry[]> {
    return (await this.#unary<{ entries: AuditEntry[] }>("ListAudit", { limit, token })).entries;
  }

  /** Closes the session and the channel; outstanding calls fail with CANCELLED. */
  close(): void {
    this.#session.close();
    this.#direct?.close();
    this.#rpc.close();
  }

  async #register(request: RegisterAppRequest): Promise<string> {
    const check = await this.#unary<{ present: boolean; max_payload_bytes: number }>(
      "CheckAppVersion",
      { version: request.version },
    );
    this.#maxPayloadBytes = check.max_payload_bytes;
    if (check.present) return request.version;
    const response = await this.#unary<{ version: string }>("RegisterApp", request);
    return response.version;
  }

  /** Like #encodeArgs, as parts: a large byte array among the arguments is not copied here. */
  #encodeCallArgs(args: unknown[]): Uint8Array[] {
    assertTransferable(args, "arguments");
    const parts = encodeArgsParts(args);
    const bytes = partsLength(parts);
    if (bytes > this.#maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `arguments are ${bytes} bytes, over the server's limit of ${this.#maxPayloadBytes} bytes`,
      );
    }
    return parts;
  }

  /** Checks and encodes arguments; refuses what cannot travel or is over the server's limit. */
  #encodeArgs(args: unknown[]): Uint8Array {
    assertTransferable(args, "arguments");
    const encoded = encodeValue(args);
    if (encoded.byteLength > this.#maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `arguments are ${encoded.byteLength} bytes, over the server's limit of ${this.#maxPayloadBytes} bytes`,
      );
    }
    return encoded;
  }

  #unary<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#rpc[method](request, this.#metadata(), (err: unknown, response: T) => {
        if (err) reject(this.#describe(err));
        else resolve(response);
      });
    });
  }

  /** The metadata as HTTP/2 headers, for a direct session. */
  #headers(): Record<string, string> {
    return this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {};
  }

  #metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.settings.token) metadata.set("authorization", `Bearer ${this.settings.token}`);
    return metadata;
  }

  #describe(err: unknown): StupidModalError {
    const error = StupidModalError.from(err);
    if (error.code === Code.UNAVAILABLE) {
      return new StupidModalError(
        Code.UNAVAILABLE,
        `cannot reach the server at ${this.settings.server}: ${error.message} ` +
          `(is it running? set STUPID_MODAL_SERVER to its address)`,
        { cause: err },
      );
    }
    if (error.code === Code.UNAUTHENTICATED && !this.settings.token) {
      return new StupidModalError(
        Code.UNAUTHENTICATED,
        `${error.message}: no token given; set STUPID_MODAL_TOKEN to the token the server printed at start`,
        { cause: err },
      );
    }
    return error;
  }
}

/**
 * TLS credentials from the settings' PEM texts, or plaintext when they ask for none. For a server
 * addressed by IP, Deno's TLS refuses an IP as the SNI name that grpc-js sends: a placeholder name
 * goes as SNI instead, and the certificate is still checked against the IP.
 */
function channelCredentials(
  settings: ConnectionSettings,
  hosts: string[],
): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const { tls } = settings;
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const bytes = (text: string | undefined) => text === undefined ? null : Buffer.from(text);
  const host = hosts[0];
  if (!hosts.every((name) => isIP(name))) {
    return {
      credentials: grpc.credentials.createSsl(bytes(tls.ca), bytes(tls.clientKey), bytes(tls.clientCert)),
      options: {},
    };
  }
  const credentials = grpc.credentials.createSsl(bytes(tls.ca), bytes(tls.clientKey), bytes(tls.clientCert), {
    // Of a cluster's nodes, the certificate must name one of those listed.
    checkServerIdentity: (_name, certificate) =>
      hosts.some((ip) => checkServerIdentity(ip, certificate) === undefined)
        ? undefined
        : checkServerIdentity(host, certificate),
  });
  return { credentials, options: { "grpc.ssl_target_name_override": "stupid-modal-server.invalid" } };
}

function printRemoteLine(line: RemoteLogLine): void {
  const text = `[remote ${line.function}] ${line.text}`;
  if (line.stream === "stderr") console.error(text);
  else console.log(text);
}
