/** What the server tells a new executor, and what a failed call reports back. */
import type { Code } from "../wire/errors.ts";
import type { RemoteErrorInfo } from "../wire/proto.ts";

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

/** An executor's start-up settings: its first command-line argument, as JSON. */
export interface ExecutorInit {
  /** The Unix socket the server listens on for this executor. */
  socket: string;
  /** Inputs the worker runs at once; it queues the others it is given, in order. */
  maxInputs: number;
  /** File URL of the app version's generated worker entry module. */
  entry: string;
  functionName: string;
  permissions: WorkerPermissions;
  /** File URL of the stored app files, and of the caller's folder they came from (for stacks). */
  bundleRoot: string;
  sourceRoot: string;
  maxPayloadBytes: number;
  /** For a class: its constructor parameters, CBOR as base64 ("" for none). */
  classParams?: string;
}

/** Payload of a Failed frame. `recycle` asks the server to replace the executor. */
export interface FailureReport {
  code: Code;
  message: string;
  remote?: RemoteErrorInfo;
  recycle?: boolean;
}

/** One line a function printed: 0 stdout, 1 stderr. */
export interface ExecutorLogLine {
  stream: 0 | 1;
  text: string;
}
