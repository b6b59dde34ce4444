/**
 * The server's handle on one executor process: spawns it with exactly its function's permissions
 * and heap cap, talks to its worker in binary frames over a Unix socket of its own (every frame of
 * one turn in one write), runs inputs, and tells why it died.
 */
import { dirname, join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import { FrameKind, methodPayload, readFrames } from "./executor_frames.ts";
import { FrameWriter } from "./frame_writer.ts";
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

/** How long a stopped executor may take to go: its exit hook's 10 s (executor_main.ts) and a margin. */
const stopGraceMs = 12_000;

/** How long an executor that closed its socket unasked has to exit before it is killed. */
const hangUpGraceMs = 2_000;

interface RunningInput {
  id: number;
  onLog: (line: ExecutorLogLine) => void;
  onItem?: (value: Uint8Array) => void;
  settle: (outcome: CallOutcome) => void;
  /** Lines received (they come over the main thread's connection), and lines the worker said it printed. */
  printed: number;
  mark: number;
  /** Items and the outcome that came before the lines printed ahead of them: they wait for those. */
  held?: { mark: number; act: () => void }[];
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
  /** Frames to the worker. */
  #output: FrameWriter | undefined;
  /** The executor main thread's connection. */
  #control: Deno.Conn | undefined;
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
    // The socket sits in a folder of its own, removed once connected: the worker may write the
    // socket's path (connecting takes that), and with no folder left it can write nothing there.
    const folder = join(spec.socketDir, crypto.randomUUID().slice(0, 12));
    Deno.mkdirSync(folder, { mode: 0o700 });
    const socket = join(folder, "s");
    let listener: Deno.Listener | undefined;
    let executor;
    try {
      listener = Deno.listen({ transport: "unix", path: socket });
      executor = new ExecutorProcess(spec, socket);
    } catch (err) {
      listener?.close();
      Deno.removeSync(folder, { recursive: true });
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
      this.#running.set(id, { id, onLog, onItem, settle, printed: 0, mark: 0 });
      if (!method) this.#output!.frame(FrameKind.Call, id, args);
      else this.#output!.frame(FrameKind.CallMethod, id, methodPayload(method, args));
    });
  }

  /** Lets the running generator call `id` yield `count` more items. */
  credit(id: number, count: number): void {
    if (!this.#running.has(id)) return;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, count);
    this.#output?.frame(FrameKind.Credit, id, payload);
  }

  /** Inputs running now. */
  get load(): number {
    return this.#running.size;
  }

  /** Tells the executor that running input `id` was cancelled (a generator then stops). */
  cancelInput(id: number): void {
    if (!this.#running.has(id)) return;
    this.#output?.frame(FrameKind.Cancel, id);
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

  /** Asks the process to end by closing its connections; it exits on its own. */
  stop(): void {
    this.#stopping = true;
    this.#output?.end();
    this.#control?.closeWrite().catch(() => {});
    // One that does not go (frozen by SIGSTOP, or stuck past its exit hook) is killed, so that it
    // holds neither its slot nor the server's shutdown.
    const timer = setTimeout(() => this.kill(failed(Code.UNAVAILABLE, "the executor did not stop")), stopGraceMs);
    this.exited.finally(() => clearTimeout(timer));
  }

  /**
   * Takes the executor's two connections, its main thread's (load failures, printed lines) and
   * then its worker's (everything else), and removes the socket so nobody else can connect.
   */
  async #accept(listener: Deno.Listener, socket: string): Promise<void> {
    const folder = dirname(socket);
    const gone = this.exited.then(() => undefined);
    // Whatever was written there meanwhile goes with the process, at the latest.
    this.exited.then(() => Deno.remove(folder, { recursive: true }).catch(() => {}));
    const control = await Promise.race([listener.accept(), gone]);
    const data = control && await Promise.race([listener.accept(), gone]);
    listener.close();
    await Deno.remove(folder, { recursive: true }).catch(() => {});
    if (control) {
      this.#control = control;
      this.#serve(control, false);
    }
    if (!data) return;
    this.#output = new FrameWriter(data);
    if (this.#stopping || this.#killReason) this.stop();
    await this.#serve(data, true);
  }

  /** Reads a connection's frames until it ends; a malformed frame or report costs the executor. */
  async #serve(connection: Deno.Conn, isWorker: boolean): Promise<void> {
    // A result may be up to the payload limit; a failure report or a line a little more.
    const maxFrameBytes = 2 * this.#maxPayloadBytes + 1024 * 1024;
    try {
      await readFrames(connection, (kind, id, payload) => this.#receive(kind, id, payload), maxFrameBytes);
      connection.close();
      // The worker hung up unasked (it ended itself): whatever it ran is lost; the process goes.
      if (isWorker && !this.#stopping && this.#killReason === undefined) {
        const timer = setTimeout(() => {
          this.kill(failed(Code.INTERNAL, "the executor closed its connection unexpectedly; it was replaced"));
        }, hangUpGraceMs);
        this.exited.finally(() => clearTimeout(timer));
      }
    } catch (err) {
      // Our own stop() closed the connection: the executor finishes its exit hook and goes.
      if (this.#stopping) return;
      // A malformed frame or report: the executor is not trusted with another input.
      this.kill(
        failed(Code.INTERNAL, `the executor sent a malformed frame (${(err as Error).message}); it was replaced`),
      );
    }
  }

  #receive(kind: FrameKind, id: number, payload: Uint8Array): void {
    switch (kind) {
      case FrameKind.Ready:
        return this.#ready.resolve();
      case FrameKind.LoadFailed: {
        const message = `the app failed to load: ${new TextDecoder().decode(payload)}`;
        return this.#ready.reject(new StupidModalError(Code.FAILED_PRECONDITION, message));
      }
      case FrameKind.Stdout:
      case FrameKind.Stderr: {
        const running = this.#running.get(id);
        if (!running) return;
        running.printed++;
        running.onLog({
          stream: kind === FrameKind.Stdout ? 0 : 1,
          text: new TextDecoder().decode(payload.subarray(0, maxLogLineBytes)),
        });
        return this.#release(running);
      }
      case FrameKind.LogMark: {
        const running = this.#running.get(id);
        if (running) running.mark = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
        return;
      }
      case FrameKind.Item:
        return this.#inOrder(id, () => this.#running.get(id)?.onItem?.(payload));
      case FrameKind.Done:
        return this.#inOrder(id, () => {
          // The worker checks the size too; this holds even if the function forged the frame.
          const limit = this.#maxPayloadBytes;
          if (payload.byteLength <= limit) return this.#finish(id, { value: payload });
          const message = `the result is ${payload.byteLength} bytes, over the server's limit of ${limit} bytes`;
          this.#finish(id, failed(Code.RESOURCE_EXHAUSTED, message));
        });
      case FrameKind.Failed: {
        if (!this.#running.has(id)) return;
        const { failure, recycle } = readFailureReport(payload);
        return this.#inOrder(id, () => {
          this.#finish(id, { failure });
          if (recycle) this.kill(failed(Code.INTERNAL, `executor recycled after: ${failure.message}`));
        });
      }
      default:
        this.kill(failed(Code.INTERNAL, `the executor sent an unknown frame kind ${kind}; it was replaced`));
    }
  }

  /** Acts on an item or outcome now, or once the lines the call printed before it have arrived. */
  #inOrder(id: number, act: () => void): void {
    const running = this.#running.get(id);
    if (!running || running.printed >= running.mark) return act();
    (running.held ??= []).push({ mark: running.mark, act });
  }

  #release(running: RunningInput): void {
    const held = running.held;
    while (held && held.length > 0 && held[0].mark <= running.printed) held.shift()!.act();
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
    const signal = status.signal ? `, killed by ${status.signal}` : "";
    return failed(
      Code.INTERNAL,
      `executor exited unexpectedly (status ${status.code}${signal}${tail ? `: ${tail}` : ""})`,
    );
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
