/**
 * Routes calls to the executor pool of their function (one pool per app version and function),
 * applies per-function limits and retries, keeps minimum pools warm, and writes one log line per
 * call.
 */
import type { CpuAffinity } from "../sandbox/cpu_affinity.ts";
import { ExecutorPlacement } from "../sandbox/executor_placement.ts";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import { decodeValue } from "../wire/codec.ts";
import type { FunctionSpec } from "../wire/proto.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import { ExecutorBudget } from "../sandbox/executor_budget.ts";
import type { ExecutorLogLine } from "../sandbox/executor_messages.ts";
import { type ExecutorInfo, ExecutorPool, type PoolCall } from "../sandbox/executor_pool.ts";
import type { CallMonitor, CallTrigger, WatchedCall } from "./call_monitor.ts";
import type { AuditLog, InvocationKind } from "./audit_log.ts";
import { type Identity, rootIdentity } from "./auth.ts";
import type { TokenQuotas } from "./token_quotas.ts";
import { type AppVersion, requireFunction } from "./app_store.ts";
import { type Grants, workerPermissions } from "./grants.ts";
import { withRetries } from "./retries.ts";
import type { AppLogs } from "./app_logs.ts";
import { MapSummary } from "./map_summary.ts";
import { type Bytes, bytesLength } from "../wire/value_chunks.ts";
import { redact, type SecretEnv, type Secrets } from "./secrets.ts";

/** What a call of a class names: a method, and the instance's constructor parameters (CBOR). */
export interface ClassCall {
  method?: string;
  params?: Uint8Array;
}

/** How a call came in, and where its output goes. */
export interface SubmitOptions {
  /** Receives the function's log lines (secrets blotted out). */
  onLog?: (line: ExecutorLogLine) => void;
  /** For a class: the method and the instance's parameters. */
  classCall?: ClassCall;
  /** For a generator: receives each yielded value (CBOR). */
  onItem?: (value: Uint8Array) => void;
  /** The call's id in logs and the call monitor ("fc-…", "web-…"); by default "in-<number>". */
  label?: string;
  /** What started the call. */
  trigger?: CallTrigger;
  /** Who made the call (the root token's identity by default). */
  identity?: Identity;
  /** Relayed by another cluster node, which counted and audited it: not again here. */
  relayed?: boolean;
  /** The map the call is an input of: its success is logged in the map's summary line. */
  summary?: MapSummary;
}

/** Triggers whose calls count against a token's calls in flight, and how the audit log names them. */
const invocationKinds: Partial<Record<CallTrigger, InvocationKind>> = {
  session: "invoke",
  invoke: "invoke",
  web: "web",
  schedule: "schedule",
};

/** The parameters of a call that is not a class's. */
const noParams = new Uint8Array();

/** Server-wide execution settings. */
export interface SchedulerSettings {
  grants: Grants;
  cwd: string;
  configPath: string;
  runtimeRoot: string;
  /** Where executors' Unix sockets are made. */
  socketDir: string;
  maxPayloadBytes: number;
  maxExecutors: number;
  /** All executors' heaps together, at most. */
  maxMemoryMb: number;
  maxExecutorsPerFunction: number;
  /** Inputs that may wait per function. */
  maxQueuedInputs: number;
  defaultTimeoutMs: number;
  defaultMemoryMb: number;
  scaledownMs: number;
  /** Lets the server and an executor share a CPU while calls come one at a time (undefined: never). */
  cpuAffinity: CpuAffinity | undefined;
  /** Where one line per call goes. */
  log: (line: string) => void;
  secrets: Secrets;
  /** Where every call's output and line go, by app. */
  appLogs: AppLogs;
  /** Sees each call queued, running and finished. */
  monitor: CallMonitor;
  /** Per-token limits on calls in flight. */
  quotas: TokenQuotas;
  /** Counts invocations per token. */
  audit: AuditLog;
}

/** One executor, with the function it serves. */
export interface ExecutorEntry extends ExecutorInfo {
  appName: string;
  version: string;
  functionName: string;
}

/** Runs calls on executor pools. */
export class Scheduler {
  #settings: SchedulerSettings;
  #budget: ExecutorBudget;
  #placement: ExecutorPlacement;
  #pools = new Map<string, ExecutorPool>();
  /** The app name of each pool, by pool key. */
  #poolApps = new Map<string, string>();
  #nextInput = 1;
  #closed = false;
  /** Maps with inputs in flight, whose last lines are written at close. */
  #summaries = new Set<MapSummary>();
  /** Bookkeeping of finished calls (line, app-log row, monitor), done once their replies are out. */
  #bookkeeping: (() => void)[] = [];
  #keepBooks = () => {
    for (const task of this.#bookkeeping.splice(0)) task();
  };

  /**
   * Runs `task` once the reply of the call it describes has been written: a reply is written in
   * an immediate of the turn that made it (grpc-js over node:http2, like our session writer's
   * flush), so the task goes in an immediate of the next turn. A warm call's p50 drops by ~15 µs
   * (a line written to stdout, an app-log row and the monitor, measured with and without).
   */
  #afterReply(task: () => void): void {
    this.#bookkeeping.push(task);
    if (this.#bookkeeping.length === 1) setImmediate(() => setImmediate(this.#keepBooks));
  }

  constructor(settings: SchedulerSettings) {
    this.#settings = settings;
    this.#budget = new ExecutorBudget(settings.maxExecutors, settings.maxMemoryMb);
    this.#placement = new ExecutorPlacement(settings.cpuAffinity);
  }

  /** Submits one call; throws NOT_FOUND for an unknown function. */
  submit(app: AppVersion, functionName: string, args: Bytes, options: SubmitOptions = {}): PoolCall {
    const { onLog = () => {}, classCall, onItem, label } = options;
    if (this.#closed) throw new StupidModalError(Code.UNAVAILABLE, "the server is shutting down");
    const spec = requireFunction(app, functionName);
    this.checkCall(spec, args, options);
    const params = classCall?.params ?? noParams;
    const secrets = (spec.secrets ?? []).length > 0
      ? this.#settings.secrets.envFor(functionName, spec.secrets!)
      : undefined;
    const started = performance.now();
    const timeoutMs = spec.timeout_ms || this.#settings.defaultTimeoutMs;
    const callId = label ?? `in-${this.#nextInput}`;
    const { watched, release } = this.admit(app, functionName, args, options, callId);
    const monitor = this.#settings.monitor;
    const appLog = (line: ExecutorLogLine, server: boolean) =>
      this.#settings.appLogs.write({
        time_ms: Date.now(),
        app_name: app.name,
        function: functionName,
        call_id: callId,
        stream: line.stream,
        text: line.text,
        server,
      });
    const logLine = (line: ExecutorLogLine) => {
      const shown = secrets ? { stream: line.stream, text: redact(line.text, secrets.values) } : line;
      appLog(shown, false);
      onLog(shown);
    };
    // Each attempt asks for the pool again: a pool dropped after a scale-down is made anew.
    const call = withRetries(
      spec,
      () =>
        this.#pool(app, functionName, params, secrets).submit({
          id: this.#nextInput++,
          args,
          timeoutMs,
          onLog: logLine,
          method: spec.is_class ? classCall?.method : undefined,
          onItem,
          onStart: (pid) => monitor.running(watched, pid),
        }),
    );
    const { summary } = options;
    summary?.started();
    const outcome = call.outcome.then((outcome) => {
      const shown = secrets ? redactOutcome(outcome, secrets.values) : outcome;
      const durationMs = performance.now() - started;
      release?.();
      this.#afterReply(() => {
        if (summary && !shown.failure) summary.succeeded(durationMs);
        else appLog({ stream: 0, text: this.#logCall(app, functionName, durationMs, shown, call.attempts()) }, true);
        monitor.finished(watched, shown, call.attempts());
        summary?.settled();
      });
      return shown;
    });
    return { outcome, cancel: call.cancel, credit: call.credit };
  }

  /**
   * The summary of a map's inputs of one function: its lines go to the server's output and the
   * app's logs. `onBusy` is told when an input of it is submitted while none was in flight, `onIdle`
   * when none is in flight any more.
   */
  mapSummary(
    app: AppVersion,
    functionName: string,
    mapId: number,
    onIdle: () => void,
    onBusy: (summary: MapSummary) => void,
  ): MapSummary {
    const { log, appLogs } = this.#settings;
    const summary: MapSummary = new MapSummary(`${app.name}.${functionName}`, (line) => {
      log(line);
      appLogs.write({
        time_ms: Date.now(),
        app_name: app.name,
        function: functionName,
        call_id: `map-${mapId}`,
        stream: 0,
        text: line,
        server: true,
      });
    }, {
      onBusy: () => {
        this.#summaries.add(summary);
        onBusy(summary);
      },
      onIdle: () => {
        this.#summaries.delete(summary);
        onIdle();
      },
    });
    return summary;
  }

  /** Refuses a call its function cannot take: a method of a plain function, garbage parameters, too many bytes. */
  protected checkCall(spec: FunctionSpec, args: Bytes, options: SubmitOptions): void {
    const { classCall } = options;
    if (spec.is_class && !classCall?.method) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, `"${spec.name}" is a class: a call names one of its methods`);
    }
    if (!spec.is_class && classCall?.method) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, `"${spec.name}" is a function, not a class with methods`);
    }
    const params = classCall?.params ?? noParams;
    // Each set of parameters gets executors of its own: parameters no executor could decode are
    // refused here, not by a process started for them.
    if (params.byteLength > 0 && !Array.isArray(decodeValue(params, "the class's parameters"))) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, "the class's parameters must be one CBOR array");
    }
    const size = bytesLength(args);
    if (size > this.#settings.maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `arguments are ${size} bytes, over the server's limit of ${this.#settings.maxPayloadBytes} bytes`,
      );
    }
  }

  /**
   * Lets a call in: counts it against its token's calls in flight (`release` gives the room back),
   * audits it, and shows it queued in the monitor under `id`.
   */
  protected admit(
    app: AppVersion,
    functionName: string,
    args: Bytes,
    options: SubmitOptions,
    id: string,
  ): { who: Identity; trigger: CallTrigger; watched: WatchedCall; release?: () => void } {
    const who = options.identity ?? rootIdentity;
    const trigger = options.trigger ?? "session";
    const kind = options.relayed ? undefined : invocationKinds[trigger];
    // Spawned inputs are counted (and audited) when they are spawned, not here.
    const release = kind && kind !== "schedule" ? this.#settings.quotas.enterCall(who) : undefined;
    if (kind) {
      this.#settings.audit.invoked(trigger === "schedule" ? "schedule" : who.name, kind, app.name, functionName);
    }
    const watched = this.#settings.monitor.queued({
      id,
      appName: app.name,
      version: app.version,
      functionName,
      trigger,
      caller: trigger === "schedule" ? "schedule" : who.name,
      argsBytes: bytesLength(args),
    });
    return { who, trigger, watched, release };
  }

  /**
   * Starts the warm minimum of each function of a version that now serves its app, and lets the
   * app's other versions shrink to nothing.
   */
  prewarm(app: AppVersion): void {
    if (this.#closed) return;
    this.retire(app.name, app.version);
    for (const [name, spec] of app.functions) {
      if ((spec.min_workers ?? 0) === 0) continue;
      try {
        const secrets = (spec.secrets ?? []).length > 0
          ? this.#settings.secrets.envFor(name, spec.secrets!)
          : undefined;
        this.#pool(app, name, undefined, secrets).dispatch();
      } catch (err) {
        this.#settings.log(`cannot keep ${app.name}.${name} warm: ${(err as Error).message}`);
      }
    }
  }

  /** Lets every pool of an app, but those of `keepVersion`, shrink to nothing once idle. */
  retire(appName: string, keepVersion = ""): void {
    for (const [key, pool] of this.#pools) {
      if (this.#poolApps.get(key) === appName && !key.startsWith(`${keepVersion}/`)) pool.releaseMinimum();
    }
  }

  /** Every executor of every pool, for the operator's eyes. */
  executors(): ExecutorEntry[] {
    const entries: ExecutorEntry[] = [];
    for (const [key, pool] of this.#pools) {
      const [version, functionName] = key.split(/[/#]/);
      const appName = this.#poolApps.get(key)!;
      for (const executor of pool.describe()) entries.push({ ...executor, appName, version, functionName });
    }
    return entries;
  }

  /** Stops every pool: waiting and running calls get `reason`, executors are killed. */
  async close(reason: CallOutcome): Promise<void> {
    this.#closed = true;
    this.#keepBooks();
    for (const summary of this.#summaries) summary.flush();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#poolApps.clear();
    await Promise.all(pools.map((pool) => pool.close(reason)));
    this.#keepBooks();
  }

  /** One pool per app version and function, and for a class per set of constructor parameters. */
  #pool(
    app: AppVersion,
    functionName: string,
    params: Uint8Array = new Uint8Array(),
    secrets?: SecretEnv,
  ): ExecutorPool {
    if (this.#closed) throw new StupidModalError(Code.UNAVAILABLE, "the server is shutting down");
    const paramsKey = params.byteLength > 0 ? `/${createHash("sha256").update(params).digest("hex")}` : "";
    // Executors holding a secret's old values are not reused once it changes.
    const secretsKey = secrets ? `#${secrets.revision}` : "";
    const key = `${app.version}/${functionName}${paramsKey}${secretsKey}`;
    let pool = this.#pools.get(key);
    if (pool) return pool;
    const settings = this.#settings;
    const spec = app.functions.get(functionName)!;
    const permissions = workerPermissions(functionName, spec.permissions, settings.grants, settings.cwd);
    const env: Record<string, string> = {};
    for (const name of spec.permissions.env) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    if (secrets) {
      Object.assign(env, secrets.env);
      permissions.env = [...new Set([...(permissions.env || []), ...Object.keys(secrets.env)])];
    }
    pool = new ExecutorPool(
      {
        init: {
          entry: app.workerEntry,
          functionName,
          permissions,
          bundleRoot: app.filesUrl,
          sourceRoot: app.sourceRoot,
          maxPayloadBytes: settings.maxPayloadBytes,
          classParams: spec.is_class ? encodeBase64(params) : undefined,
        },
        socketDir: settings.socketDir,
        // The worker's modules load with the executor's read access: exactly the code they need,
        // never the whole runtime folder (which may hold the data directory).
        codeFolders: [app.dir, ...["src", "mod.ts", "node_modules"].map((part) => join(settings.runtimeRoot, part))],
        configPath: settings.configPath,
        lockPath: `${app.dir}/deno.lock`,
        memoryMb: spec.memory_mb || settings.defaultMemoryMb,
        env,
        placement: this.#placement,
      },
      {
        minExecutors: spec.min_workers ?? 0,
        maxExecutors: Math.min(spec.max_workers || settings.maxExecutorsPerFunction, settings.maxExecutors),
        scaledownMs: spec.scaledown_window_ms || settings.scaledownMs,
        startTimeoutMs: spec.timeout_ms || settings.defaultTimeoutMs,
        maxQueued: settings.maxQueuedInputs,
        maxInputs: spec.max_inputs || 1,
      },
      this.#budget,
      () => this.#dropPool(key),
    );
    this.#pools.set(key, pool);
    this.#poolApps.set(key, app.name);
    return pool;
  }

  /** Forgets a pool with no executor and no waiting input; a later call makes a new one. */
  #dropPool(key: string): void {
    const pool = this.#pools.get(key);
    if (!pool) return;
    this.#pools.delete(key);
    this.#poolApps.delete(key);
    pool.close(failed(Code.UNAVAILABLE, "pool closed")).catch(() => {});
  }

  /** Logs one line for a finished call, and returns it. */
  #logCall(app: AppVersion, functionName: string, durationMs: number, outcome: CallOutcome, attempts: number): string {
    const ms = durationMs.toFixed(1);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    const result = outcome.failure ? `${Code[outcome.failure.code]}: ${firstLine(outcome.failure.message)}` : "ok";
    const line = `call ${app.name}.${functionName} ${ms}ms${tries} ${result}`;
    this.#settings.log(line);
    return line;
  }
}

/** An outcome whose error texts carry no secret value. */
function redactOutcome(outcome: CallOutcome, values: string[]): CallOutcome {
  if (!outcome.failure) return outcome;
  const { failure } = outcome;
  const remote = failure.remote
    ? {
      ...failure.remote,
      message: redact(failure.remote.message, values),
      stack: redact(failure.remote.stack, values),
    }
    : failure.remote;
  return { failure: { ...failure, message: redact(failure.message, values), remote } };
}

function firstLine(text: string): string {
  const line = text.split("\n")[0];
  return line.length > 160 ? line.slice(0, 160) + "…" : line;
}

function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}
