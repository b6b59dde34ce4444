/**
 * The server's handle on one executor process: spawns it with exactly its function's permissions
 * and heap cap, talks to it in binary frames over a Unix socket of its own, runs one input at a
 * time, and tells why it died.
 */
import { join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import { type Frame, FrameKind, frameParts, methodPayload, parseFrame, readFrames } from "./executor_frames.ts";
import type { ExecutorInit, ExecutorLogLine } from "./executor_messages.ts";
import { readFailureReport } from "./failure_report.ts";
import { executorMode, standalone } from "./standalone.ts";

/** Everything needed to start executors for one function of one app version. */
export interface ExecutorSpec {
  init: Omit<ExecutorInit, "socket">;
  /** Folder for executors' Unix sockets (inside the server's private data directory). */
  socketDir: string;
  /** Folders the executor process reads code from (the runtime's and the app version's). */
  codeFolders: string[];
  /** The Deno config (import map, node_modules) executors run with. */
  configPath: string;
  /** The app version's lockfile, written at registration. */
  lockPath: string;
  memoryMb: number;
  /** The server's values of the environment variables the function may read. */
  env: Record<string, string>;
}

const executorMain = new URL("./executor_main.ts", import.meta.url).pathname;

/** A printed line longer than this reaches the caller cut short. */
const maxLogLineBytes = 64 * 1024;

/** The V8 exit status of a process that ran out of heap (SIGTRAP). */
const outOfMemoryStatus = 133;

interface RunningInput {
  id: number;
  onLog: (line: ExecutorLogLine) => void;
  onItem?: (value: Uint8Array) => void;
  settle: (outcome: CallOutcome) => void;
}

/** One live executor process. */
export class ExecutorProcess {
  readonly pid: number;
  readonly startedAt: number = Date.now();
  /** Inputs it was given. */
  served = 0;
  /** Resolves with the exit status once the process is gone. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #output: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #running = new Map<number, RunningInput>();
  #killReason: CallOutcome | undefined;
  #killedFor: number | undefined;
  #ready: PromiseWithResolvers<void> = Promise.withResolvers();
  #memoryMb: number;
  #maxPayloadBytes: number;
  #diagnostics = "";
  #stopping = false;

  private constructor(spec: ExecutorSpec, socket: string) {
    this.#memoryMb = spec.memoryMb;
    this.#maxPayloadBytes = spec.init.maxPayloadBytes;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: executorArgs(spec, socket),
      clearEnv: true,
      env: { ...baseEnv(), ...spec.env, DENO_V8_FLAGS: `--max-old-space-size=${spec.memoryMb}`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.exited = this.#child.status;
    this.#ready.promise.catch(() => {});
    this.#keepDiagnostics(this.#child.stdout).catch(() => {});
    this.#keepDiagnostics(this.#child.stderr).catch(() => {});
    this.exited.then((status) => this.#onExit(status));
  }

  /** Spawns an executor for a function; `ready` tells when it can take inputs. */
  static spawn(spec: ExecutorSpec): ExecutorProcess {
    const socket = join(spec.socketDir, `${crypto.randomUUID().slice(0, 12)}.sock`);
    const listener = Deno.listen({ transport: "unix", path: socket });
    let executor;
    try {
      executor = new ExecutorProcess(spec, socket);
    } catch (err) {
      listener.close();
      Deno.removeSync(socket);
      throw err;
    }
    executor.#accept(listener, socket);
    return executor;
  }

  /** Resolves once the function is loaded; rejects with a StupidModalError saying why it could not be. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** False once the process was killed, asked to stop, or died. */
  get usable(): boolean {
    return this.#killReason === undefined && !this.#stopping;
  }

  /** Runs one input; the outcome is a value or a failure, never a rejection. */
  run(
    id: number,
    args: Uint8Array,
    onLog: (line: ExecutorLogLine) => void,
    method?: string,
    onItem?: (value: Uint8Array) => void,
  ): Promise<CallOutcome> {
    this.served++;
    return new Promise((settle) => {
      this.#running.set(id, { id, onLog, onItem, settle });
      const parts = !method
        ? frameParts(FrameKind.Call, id, args)
        : frameParts(FrameKind.CallMethod, id, methodPayload(method, args));
      for (const part of parts) this.#output!.write(part).catch(() => {});
    });
  }

  /** Lets the running generator call `id` yield `count` more items. */
  credit(id: number, count: number): void {
    if (!this.#running.has(id)) return;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, count);
    for (const part of frameParts(FrameKind.Credit, id, payload)) this.#output?.write(part).catch(() => {});
  }

  /** Inputs running now. */
  get load(): number {
    return this.#running.size;
  }

  /** Tells the executor that running input `id` was cancelled (a generator then stops). */
  cancelInput(id: number): void {
    if (!this.#running.has(id)) return;
    for (const part of frameParts(FrameKind.Cancel, id, new Uint8Array())) this.#output?.write(part).catch(() => {});
  }

  /**
   * Kills the process. The running input `forInput` (all of them, when not given) gets `reason`;
   * any other running input fails as replaced, which retries may undo.
   */
  kill(reason: CallOutcome, forInput?: number): void {
    if (this.#killReason === undefined) {
      this.#killReason = reason;
      this.#killedFor = forInput;
    }
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Asks the process to end by closing its socket; it exits on its own. */
  stop(): void {
    this.#stopping = true;
    this.#output?.close().catch(() => {});
  }

  /** Takes the executor's one connection, then removes the socket so nobody else can connect. */
  async #accept(listener: Deno.Listener, socket: string): Promise<void> {
    const connection = await Promise.race([listener.accept(), this.exited.then(() => undefined)]);
    listener.close();
    await Deno.remove(socket).catch(() => {});
    if (!connection) return;
    this.#output = connection.writable.getWriter();
    this.#output.closed.catch(() => {});
    if (this.#stopping || this.#killReason) this.#output.close().catch(() => {});
    try {
      for await (const bytes of readFrames(connection.readable)) this.#receive(parseFrame(bytes));
    } catch (err) {
      // Our own stop() closed the connection: the executor finishes its exit hook and goes.
      if (this.#stopping) return;
      // A malformed frame or report: the executor is not trusted with another input.
      this.kill(
        failed(Code.INTERNAL, `the executor sent a malformed frame (${(err as Error).message}); it was replaced`),
      );
    }
  }

  #receive(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.Ready:
        return this.#ready.resolve();
      case FrameKind.LoadFailed: {
        const message = `the app failed to load: ${new TextDecoder().decode(frame.payload)}`;
        return this.#ready.reject(new StupidModalError(Code.FAILED_PRECONDITION, message));
      }
      case FrameKind.Stdout:
      case FrameKind.Stderr:
        return this.#running.get(frame.id)?.onLog({
          stream: frame.kind === FrameKind.Stdout ? 0 : 1,
          text: new TextDecoder().decode(frame.payload.subarray(0, maxLogLineBytes)),
        });
      case FrameKind.Item:
        this.#running.get(frame.id)?.onItem?.(frame.payload.slice());
        return;
      case FrameKind.Done: {
        // The worker checks the size too; this holds even if the function forged the frame.
        const limit = this.#maxPayloadBytes;
        if (frame.payload.byteLength <= limit) return this.#finish(frame.id, { value: frame.payload });
        const message = `the result is ${frame.payload.byteLength} bytes, over the server's limit of ${limit} bytes`;
        return this.#finish(frame.id, failed(Code.RESOURCE_EXHAUSTED, message));
      }
      case FrameKind.Failed: {
        if (!this.#running.has(frame.id)) return;
        const { failure, recycle } = readFailureReport(frame.payload);
        this.#finish(frame.id, { failure });
        if (recycle) this.kill(failed(Code.INTERNAL, `executor recycled after: ${failure.message}`));
        return;
      }
      default:
        this.kill(failed(Code.INTERNAL, `the executor sent an unknown frame kind ${frame.kind}; it was replaced`));
    }
  }

  #finish(id: number, outcome: CallOutcome): void {
    const running = this.#running.get(id);
    if (!running) return;
    this.#running.delete(id);
    running.settle(outcome);
  }

  #onExit(status: Deno.CommandStatus): void {
    this.#stopping = true;
    const outcome = this.#killReason ?? this.#exitOutcome(status);
    const failure = outcome.failure ?? { code: Code.INTERNAL, message: "executor exited" };
    this.#ready.reject(new StupidModalError(failure.code, failure.message));
    const running = [...this.#running.values()];
    this.#running.clear();
    for (const input of running) {
      const mine = this.#killedFor === undefined || this.#killedFor === input.id;
      const message = `its executor was replaced (another input on it: ${outcome.failure?.message ?? "ended"})`;
      input.settle(mine ? outcome : failed(Code.INTERNAL, message));
    }
  }

  #exitOutcome(status: Deno.CommandStatus): CallOutcome {
    if (status.code === outOfMemoryStatus || /out of memory|heap limit/i.test(this.#diagnostics)) {
      return failed(
        Code.RESOURCE_EXHAUSTED,
        `out of memory: the function exceeded its ${this.#memoryMb} MB heap limit`,
      );
    }
    const tail = this.#diagnostics.trim().split("\n").slice(-3).join(" | ");
    return failed(Code.INTERNAL, `executor exited unexpectedly (status ${status.code}${tail ? `: ${tail}` : ""})`);
  }

  /** Keeps the last few KiB the process printed itself (Deno's own errors), for exit reports. */
  async #keepDiagnostics(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      this.#diagnostics = (this.#diagnostics + chunk).slice(-4096);
    }
  }
}

function executorArgs(spec: ExecutorSpec, socket: string): string[] {
  const { permissions } = spec.init;
  const list = (values: string[] | false) => (values ? values : []);
  const init: ExecutorInit = { ...spec.init, socket };
  // A compiled server starts its executors as itself, with the flags it was compiled with.
  if (standalone) return [executorMode, JSON.stringify(init)];
  const args = [
    "run",
    "--quiet",
    "--no-prompt",
    "--cached-only",
    `--lock=${spec.lockPath}`,
    "--frozen",
    "--unstable-worker-options",
    `--config=${spec.configPath}`,
    // Connecting to a Unix socket takes read, write and (Deno 2.9) net access to its path.
    `--allow-read=${[...spec.codeFolders, socket, ...list(permissions.read)].join(",")}`,
    `--allow-write=${[socket, ...list(permissions.write)].join(",")}`,
    `--allow-net=${[`unix:${socket}`, ...list(permissions.net)].join(",")}`,
  ];
  if (permissions.env) args.push(`--allow-env=${permissions.env.join(",")}`);
  args.push(executorMain, JSON.stringify(init));
  return args;
}

/** What Deno itself needs to find its cache; nothing else of the server's environment passes. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // A compiled executor finds the runtime's embedded files under the temporary folder, as the
  // server does: the worker entries the server writes name them there.
  const names = ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH", ...(standalone ? ["TMPDIR"] : [])];
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
