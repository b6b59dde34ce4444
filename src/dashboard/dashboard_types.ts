/**
 * What the dashboard's JSON API and event stream carry: shared, as types only, by the server's
 * routes and the browser code.
 */

/** Where a call is. */
export type CallPhase = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** One call, as the calls page lists it. */
export interface CallView {
  id: string;
  app: string;
  version: string;
  function: string;
  /** What started it: session, invoke, spawn, map, schedule, web. */
  trigger: string;
  /** The name of the caller's token ("" when the server does not know it). */
  caller: string;
  phase: CallPhase;
  /** Epoch milliseconds. */
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** The executor running it, or that ran it last. */
  pid?: number;
  attempts: number;
  argsBytes: number;
  resultBytes?: number;
  /** Why it failed: the status code's name and the message. */
  error?: { code: string; message: string };
}

/** A user function's exception, as it came back. */
export interface RemoteErrorView {
  name: string;
  message: string;
  stack: string;
}

/** One call in full, for its own page. */
export interface CallDetailView extends CallView {
  remote?: RemoteErrorView;
  /** The result as JSON text, when the server kept it (spawned and scheduled calls). */
  result?: { json: string; truncated: boolean };
  /** Why no result is shown, when there is none. */
  resultNote?: string;
}

/** One executor process. */
export interface ExecutorView {
  pid: number;
  app: string;
  version: string;
  function: string;
  state: "starting" | "idle" | "busy" | "stopping";
  /** Inputs running on it now. */
  load: number;
  /** Inputs it has run. */
  served: number;
  startedAt: number;
  /** Resident memory, when the server could read it. */
  rssBytes?: number;
}

/** One second of the charts. */
export interface StatsPoint {
  /** Epoch seconds. */
  second: number;
  /** Calls that finished in that second. */
  calls: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** Executors alive at the end of it. */
  executors: number;
}

/** Totals since the server started. */
export interface CallCounts {
  queued: number;
  finished: number;
  failed: number;
  open: number;
}

/** A function of a deployed app. */
export interface FunctionView {
  name: string;
  kind: "function" | "generator" | "class";
  permissions: { read: string[]; write: string[]; net: string[]; env: string[] };
  /** 0: the server's default. */
  timeoutMs: number;
  /** 0: the server's default. */
  memoryMb: number;
  minWorkers: number;
  /** 0: the server's limit. */
  maxWorkers: number;
  /** 0: the server's default. */
  scaledownMs: number;
  /** Inputs one executor runs at once. */
  maxInputs: number;
  maxRetries: number;
  secrets: string[];
  schedule?: { text: string; nextAt?: number };
  web?: { method: string; url: string };
  /** Executors alive now. */
  executors: number;
}

/** A deployed app and its deployed version. */
export interface AppView {
  name: string;
  version: string;
  state: "running" | "stopped";
  deployedAt: number;
  deployCount: number;
  registeredAt: number;
  functions: FunctionView[];
}

/** One line of an app's log. */
export interface LogView {
  time: number;
  function: string;
  callId: string;
  stream: "stdout" | "stderr";
  text: string;
  /** Written by the server (the line per call), not by the function. */
  server: boolean;
}

/** Who is looking. */
export interface MeView {
  name: string;
  scopes: string[];
}

/** What a page asks the event stream for. */
export type Topic = "calls" | "executors" | "stats" | "apps" | "logs";

/** The first event of a stream: the state of everything asked for. */
export interface Snapshot {
  /** The server's clock. */
  now: number;
  calls?: CallView[];
  /** With `call=<id>`: that call, if the server still knows it. */
  call?: CallDetailView | null;
  executors?: ExecutorView[];
  stats?: StatsPoint[];
  counts?: CallCounts;
  apps?: AppView[];
  logs?: LogView[];
}

/** The `executors` event, once a second. */
export interface ExecutorsEvent {
  now: number;
  executors: ExecutorView[];
}

/** The `stats` event, once a second: the latest seconds (replacing those the page has). */
export interface StatsEvent {
  now: number;
  points: StatsPoint[];
  counts: CallCounts;
}

/** The `end` event: the stream ends for good (session over); the page goes to the login. */
export interface EndEvent {
  reason: string;
}
