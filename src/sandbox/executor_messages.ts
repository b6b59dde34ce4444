/** The messages between the server, an executor process and its worker (CBOR frames, postMessage). */
import type { Code } from "../wire/errors.ts";

/** Deno's Worker permission set, as given to `new Worker(..., { deno: { permissions } })`. */
export interface WorkerPermissions {
  read: string[] | false;
  write: string[] | false;
  net: string[] | false;
  env: string[] | false;
  run: false;
  ffi: false;
  sys: false;
  import: false;
}

/** First message to an executor: what to load and with which permissions. */
export interface InitMessage {
  t: "init";
  /** File URL of the app version's generated worker entry module. */
  entry: string;
  functionName: string;
  permissions: WorkerPermissions;
  /** File URL of the stored app files, and of the caller's folder they came from (for stacks). */
  bundleRoot: string;
  sourceRoot: string;
  maxPayloadBytes: number;
}

/** Runs one input. */
export interface CallInput {
  t: "call";
  id: number;
  args: Uint8Array;
}

/** Sent by the server to an executor. */
export type ToExecutor = InitMessage | CallInput;

/** The worker loaded the app and found the function. */
export interface ReadyMessage {
  t: "ready";
}

/** The worker could not load the app or find the function. */
export interface LoadFailedMessage {
  t: "load_failed";
  message: string;
}

/** A line the function printed during call `id`. */
export interface LogMessage {
  t: "log";
  id: number;
  stream: 0 | 1;
  text: string;
}

/** Call `id` returned. */
export interface DoneMessage {
  t: "done";
  id: number;
  value: Uint8Array;
}

/** A user exception: name, message, stack with the caller's file names, CBOR of its cause. */
export interface RemoteErrorData {
  name: string;
  message: string;
  stack: string;
  cause: Uint8Array;
}

/** Call `id` failed. `recycle` asks the server to replace the executor (its state is suspect). */
export interface ErrorMessage {
  t: "error";
  id: number;
  code: Code;
  message: string;
  remote?: RemoteErrorData;
  recycle?: boolean;
}

/** Sent by an executor to the server. */
export type FromExecutor = ReadyMessage | LoadFailedMessage | LogMessage | DoneMessage | ErrorMessage;
