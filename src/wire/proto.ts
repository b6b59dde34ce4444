/** The `stupidmodal.v1` contract loaded for grpc-js, with TypeScript shapes of its messages. */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import descriptor from "./stupid_modal.json" with { type: "json" };

/** proto-loader options shared by server and client: numbers as JS numbers, oneofs named. */
const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: true,
};

/** The package definition, also given to server reflection. */
export const packageDefinition = protoLoader.fromJSON(
  descriptor as Parameters<typeof protoLoader.fromJSON>[0],
  loaderOptions,
);

// deno-lint-ignore no-explicit-any
const loaded = grpc.loadPackageDefinition(packageDefinition) as any;

/** The StupidModal service definition and its generated client constructor. */
export const StupidModalService: grpc.ServiceDefinition = loaded.stupidmodal.v1.StupidModal.service;
export const StupidModalClient: grpc.ServiceClientConstructor = loaded.stupidmodal.v1.StupidModal;

/** A function's sandbox permissions, as on the wire. */
export interface PermissionsMessage {
  read: string[];
  write: string[];
  net: string[];
  env: string[];
}

/** One function of an app version, as on the wire. */
export interface FunctionSpec {
  name: string;
  module: string;
  permissions: PermissionsMessage;
  timeout_ms: number;
  memory_mb: number;
  min_workers?: number;
  max_workers?: number;
  scaledown_window_ms?: number;
  max_retries?: number;
  retry_initial_delay_ms?: number;
  retry_backoff_coefficient?: number;
  retry_max_delay_ms?: number;
  is_class?: boolean;
  is_generator?: boolean;
  max_inputs?: number;
  secrets?: string[];
  schedule?: ScheduleMessage | null;
  web?: WebEndpointMessage | null;
}

/** A function's timetable: exactly one of `cron` and `every_ms`. */
export interface ScheduleMessage {
  cron: string;
  every_ms: number;
}

/** A function's HTTP exposure. */
export interface WebEndpointMessage {
  method: string;
}

/** One shipped source file. */
export interface SourceFile {
  path: string;
  content: Uint8Array;
}

/** RegisterApp's request. */
export interface RegisterAppRequest {
  app_name: string;
  version: string;
  files: SourceFile[];
  functions: FunctionSpec[];
  source_root: string;
}

/** A user exception, as on the wire. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack: string;
  cause: Uint8Array;
}

/** Why a call failed, as on the wire. */
export interface Failure {
  code: number;
  message: string;
  remote?: RemoteErrorInfo | null;
}

/** One call on the session stream. */
export interface CallMessage {
  call_id: number;
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array;
  method?: string;
  params?: Uint8Array;
  /** All the arguments' bytes, when more than `args` holds: the rest come as ArgsChunks. */
  args_size?: number;
  /** The caller takes a large result as ValueChunks before the Output. */
  accept_chunks?: boolean;
  /** Nonzero for the inputs of one map: the server logs their successes as summary lines. */
  map_id?: number;
}

/** A piece of a call's arguments, or of its result: the pieces arrive in order. */
export interface ChunkMessage {
  call_id: number;
  data: Uint8Array;
}

/** One call's outcome on the session stream. */
export interface OutputMessage {
  call_id: number;
  value?: Uint8Array;
  failure?: Failure | null;
  outcome?: "value" | "failure";
}

/** One line a remote function printed. */
export interface LogLineMessage {
  call_id: number;
  stream: LogStream;
  text: string;
}

/** Where a remote log line was printed: 0 stdout, 1 stderr. */
export type LogStream = 0 | 1;

/** Caller to server on the session stream. */
export interface SessionRequest {
  calls: CallMessage[];
  cancels: { call_id: number }[];
  acks: { call_id: number; count: number }[];
  args_chunks: ChunkMessage[];
}

/** One value a generator call yielded. */
export interface ItemMessage {
  call_id: number;
  value: Uint8Array;
}

/** Server to caller on the session stream. */
export interface SessionResponse {
  outputs: OutputMessage[];
  logs: LogLineMessage[];
  items: ItemMessage[];
  value_chunks?: ChunkMessage[];
}

/** Invoke's request. */
export interface InvokeRequest {
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array;
  method?: string;
  params?: Uint8Array;
}

/** Spawn's request. */
export interface SpawnRequest {
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array;
}

/** One message of SpawnMap's request stream. */
export interface SpawnMapRequest {
  version: string;
  app_name: string;
  function: string;
  args: Uint8Array[];
}

/** GetCall's request. */
export interface GetCallRequest {
  call_id: string;
  timeout_ms: number;
}

/** GetCall's answer. */
export interface GetCallResponse {
  done: boolean;
  outputs: OutputMessage[];
  inputs: number;
  finished: number;
}

/** Deploy's answer. */
export interface DeployResponse {
  version: string;
  deployed_at_ms: number;
  previous_version: string;
}

/** Whether a deployed app serves: 0 deployed, 1 stopped. */
export type AppState = 0 | 1;

/** A deployed app, as ListApps gives it. */
export interface AppInfo {
  name: string;
  version: string;
  state: AppState;
  deployed_at_ms: number;
  functions: FunctionSpec[];
  deploy_count: number;
}

/** ListApps' answer. */
export interface ListAppsResponse {
  apps: AppInfo[];
  web_port: number;
}

/** AppLogs' request. */
export interface AppLogsRequest {
  app_name: string;
  tail: number;
  follow: boolean;
}

/** One line of an app's log. */
export interface AppLogEntry {
  time_ms: number;
  app_name: string;
  function: string;
  call_id: string;
  stream: LogStream;
  text: string;
  server: boolean;
}

/** ListCalls' request. */
export interface ListCallsRequest {
  app_name: string;
  limit: number;
}

/** A call's state: 0 running, 1 succeeded, 2 failed, 3 cancelled. */
export type CallState = 0 | 1 | 2 | 3;

/** One spawned, scheduled or web call, as ListCalls gives it. */
export interface CallInfo {
  call_id: string;
  app_name: string;
  version: string;
  function: string;
  trigger: string;
  state: CallState;
  inputs: number;
  finished: number;
  failed: number;
  created_at_ms: number;
  finished_at_ms: number;
  caller: string;
}

/** ListCalls' answer. */
export interface ListCallsResponse {
  calls: CallInfo[];
}

/** SetSecret's request. */
export interface SetSecretRequest {
  name: string;
  values: Record<string, string>;
}

/** A secret's name and keys, never its values. */
export interface SecretInfo {
  name: string;
  keys: string[];
  updated_at_ms: number;
}

/** What a token may do. */
export type Scope = "admin" | "invoke";

/** A named token's description, never the token. */
export interface TokenInfo {
  name: string;
  scopes: Scope[];
  created_at_ms: number;
  max_concurrent_calls: number;
  max_queued_inputs: number;
}

/** One entry of the audit log. */
export interface AuditEntry {
  time_ms: number;
  token: string;
  action: string;
  app_name: string;
  function: string;
  count: number;
  detail: string;
}

/** CreateToken's request. */
export interface CreateTokenRequest {
  name: string;
  scopes: string[];
  max_concurrent_calls: number;
  max_queued_inputs: number;
}

/** ListAudit's request. */
export interface ListAuditRequest {
  limit: number;
  token: string;
}
