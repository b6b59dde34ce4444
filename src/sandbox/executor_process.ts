/**
 * The server's handle on one executor process: spawns it with exactly its function's permissions
 * and heap cap, talks to its worker in binary frames over a Unix socket of its own (every frame of
 * one turn in one write), runs inputs and their deadlines, and tells why it died.
 *
 * It may be given more inputs than it runs at once (`maxInputs`): the worker runs them in the
 * order given, starting the next when one ends, and writes every result out before it starts an
 * input that waited. So this side knows which inputs run (the first `maxInputs` unfinished ones)
 * and starts each one's deadline when it starts; inputs that never started when the process dies
 * are handed back to run elsewhere.
 */
import { dirname, join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import { FrameKind, methodPayload, readFrames } from "./executor_frames.ts";
import { FrameWriter } from "./frame_writer.ts";
import type { ExecutorInit, ExecutorLogLine } from "./executor_messages.ts";
import { readFailureReport } from "./failure_report.ts";
import { executorMode, standalone } from "./standalone.ts";
import { type Bytes, wholeBytes } from "../wire/value_chunks.ts";
import type { ExecutorPlacement } from "./executor_placement.ts";

/** Everything needed to start executors for one function of one app version. */
export interface ExecutorSpec {
  init: Omit<ExecutorInit, "socket" | "maxInputs">;
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
  /** Server-wide placement of executors on CPUs; hears of every input given and finished. */
  placement?: ExecutorPlacement;
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

/** How long a dead executor's last outcomes may take to be read from its socket. */
const drainGraceMs = 10_000;

/** One input as an executor runs it. */
export interface ExecutorInput {
  readonly id: number;
  /** The CBOR arguments, whole or in pieces. */
  readonly args: Bytes;
  /** For a class: the method to call. */
  readonly method?: string;
  readonly timeoutMs: number;
  onLog(line: ExecutorLogLine): void;
  /** For a generator: receives each yielded value (CBOR). */
  onItem?: (value: Uint8Array) => void;
}

/** What an executor tells about the inputs it was given. */
export interface ExecutorEvents<T extends ExecutorInput> {
  /** The input started running: its deadline runs from now. */
  started(input: T): void;
  /** The input's outcome: a value or a failure. */
  finished(input: T, outcome: CallOutcome): void;
  /** The process is gone and these inputs, in the order given, never started: they may run elsewhere. */
  unstarted(inputs: T[]): void;
}

/** An input given to the executor and not yet finished. */
interface Sent<T extends ExecutorInput> {
  input: T;
  started: boolean;
  /** Cancelled before it finished: its outcome was given already, its deadline no longer counts. */
  cancelled: boolean;
  /** performance.now() past which it has run too long. */
  deadline: number;
  /** Lines received (they come over the main thread's connection), and lines the worker said it printed. */
  printed: number;
  mark: number;
  /** Items and the outcome that came before the lines printed ahead of them: they wait for those. */
  held?: { mark: number; act: () => void }[];
}

/** One live executor process. */
export class ExecutorProcess<T extends ExecutorInput = ExecutorInput> {
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
  #events: ExecutorEvents<T>;
  /** Inputs given and not finished, in the order given. */
  #sent = new Map<number, Sent<T>>();
  /** Those of them not started yet, in order (from `#nextWaiting` on). */
  #waiting: Sent<T>[] = [];
  #nextWaiting = 0;
  /** Inputs started and not finished. */
  #active = 0;
  #maxInputs: number;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAt = Infinity;
  /** Resolves once the worker's connection was read to its end (or never came). */
  #drained = Promise.withResolvers<void>();
  #killReason: CallOutcome | undefined;
  #killedFor: number | undefined;
  #ready: PromiseWithResolvers<void> = Promise.withResolvers();
  #memoryMb: number;
  #maxPayloadBytes: number;
  #diagnostics = "";
  #stopping = false;
  #placement: ExecutorPlacement | undefined;

  private constructor(spec: ExecutorSpec, socket: string, maxInputs: number, events: ExecutorEvents<T>) {
    this.#events = events;
    this.#maxInputs = maxInputs;
    this.#memoryMb = spec.memoryMb;
    this.#maxPayloadBytes = spec.init.maxPayloadBytes;
    this.#placement = spec.placement;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: executorArgs(spec, socket, maxInputs),
      clearEnv: true,
      env: { ...baseEnv(), ...spec.env, DENO_V8_FLAGS: `--max-old-space-size=${spec.memoryMb}`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#placement?.spawned(this.pid);
    // Resolves once every input it had has its outcome or was handed back.
    this.exited = this.#child.status.then(async (status) => {
      await this.#onExit(status);
      return status;
    });
    this.#ready.promise.catch(() => {});
    this.#keepDiagnostics(this.#child.stdout).catch(() => {});
    this.#keepDiagnostics(this.#child.stderr).catch(() => {});
  }

  /**
   * Spawns an executor for a function that runs up to `maxInputs` inputs at once; `ready` tells
   * when it can take inputs, `events` what becomes of them.
   */
  static spawn<T extends ExecutorInput>(
    spec: ExecutorSpec,
    maxInputs: number,
    events: ExecutorEvents<T>,
  ): ExecutorProcess<T> {
    // The socket sits in a folder of its own, removed once connected: the worker may write the
    // socket's path (connecting takes that), and with no folder left it can write nothing there.
    const folder = join(spec.socketDir, crypto.randomUUID().slice(0, 12));
    Deno.mkdirSync(folder, { mode: 0o700 });
    const socket = join(folder, "s");
    let listener: Deno.Listener | undefined;
    let executor;
    try {
      listener = Deno.listen({ transport: "unix", path: socket });
      executor = new ExecutorProcess<T>(spec, socket, maxInputs, events);
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

  /**
   * Gives the executor one input. It starts at once while fewer than `maxInputs` run, else when
   * the ones given before it have made room; `events` hears what becomes of it.
   */
  run(input: T): void {
    this.served++;
    const sent: Sent<T> = { input, started: false, cancelled: false, deadline: 0, printed: 0, mark: 0 };
    this.#sent.set(input.id, sent);
    this.#placement?.giving(this.pid);
    if (!input.method) this.#output!.frame(FrameKind.Call, input.id, input.args);
    else this.#output!.frame(FrameKind.CallMethod, input.id, methodPayload(input.method, wholeBytes(input.args)));
    if (this.#active < this.#maxInputs) this.#start(sent);
    else this.#waiting.push(sent);
  }

  /** Lets the running generator call `id` yield `count` more items. */
  credit(id: number, count: number): void {
    if (!this.#sent.has(id)) return;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, count);
    this.#output?.frame(FrameKind.Credit, id, payload);
  }

  /** Inputs given and not finished, started or waiting to. */
  get load(): number {
    return this.#sent.size;
  }

  /** Inputs running now. */
  get running(): number {
    return this.#active;
  }

  /**
   * Cancels input `id`. A Worker cannot be stopped mid-call, so when it runs alone the process is
   * killed and the input's outcome (CANCELLED) follows from that: then this returns true. Otherwise
   * the worker is told (one that waits is dropped; a generator stops at its next yield; a plain
   * function running beside others runs on, unheard) and the caller gives the outcome itself.
   */
  cancel(id: number): boolean {
    const sent = this.#sent.get(id);
    if (!sent || sent.cancelled) return false;
    sent.cancelled = true;
    if (sent.started && this.#maxInputs === 1) {
      this.kill(failed(Code.CANCELLED, "cancelled by the caller"), id);
      return true;
    }
    this.#output?.frame(FrameKind.Cancel, id);
    return false;
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
    // The process's own end (not `exited`, which waits for what this reads).
    const gone = this.#child.status.then(() => undefined);
    // Whatever was written there meanwhile goes with the process, at the latest.
    this.exited.then(() => Deno.remove(folder, { recursive: true }).catch(() => {}));
    const control = await Promise.race([listener.accept(), gone]);
    if (control) {
      // Read at once: a failure to load comes this way, and no worker connection follows it.
      this.#control = control;
      this.#serve(control, false);
    }
    const data = control && await Promise.race([listener.accept(), gone]);
    listener.close();
    await Deno.remove(folder, { recursive: true }).catch(() => {});
    if (!data) return this.#drained.resolve();
    this.#output = new FrameWriter(data);
    if (this.#stopping || this.#killReason) this.stop();
    await this.#serve(data, true);
    this.#drained.resolve();
  }

  /** Reads a connection's frames until it ends; a malformed frame or report costs the executor. */
  async #serve(connection: Deno.Conn, isWorker: boolean): Promise<void> {
    // A result may be up to the payload limit; a failure report or a line a little more.
    const maxFrameBytes = 2 * this.#maxPayloadBytes + 1024 * 1024;
    try {
      await readFrames(connection, (kind, id, payload) => this.#receive(kind, id, payload), maxFrameBytes);
    } catch (err) {
      // A process that dies with inputs it never read resets its end: that is a hang-up.
      if (!(err instanceof Deno.errors.ConnectionReset)) {
        // Our own stop() closed the connection: the executor finishes its exit hook and goes.
        if (this.#stopping) return;
        // A malformed frame or report: the executor is not trusted with another input.
        const message = `the executor sent a malformed frame (${(err as Error).message}); it was replaced`;
        return this.kill(failed(Code.INTERNAL, message));
      }
    }
    try {
      connection.close();
    } catch {
      // Closed already.
    }
    // The worker hung up unasked: it died (its process goes, and tells why) or ended itself.
    if (isWorker && !this.#stopping && this.#killReason === undefined) {
      const timer = setTimeout(() => {
        this.kill(failed(Code.INTERNAL, "the executor closed its connection unexpectedly; it was replaced"));
      }, hangUpGraceMs);
      this.exited.finally(() => clearTimeout(timer));
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
        const running = this.#sent.get(id);
        if (!running) return;
        running.printed++;
        running.input.onLog({
          stream: kind === FrameKind.Stdout ? 0 : 1,
          text: new TextDecoder().decode(payload.subarray(0, maxLogLineBytes)),
        });
        return this.#release(running);
      }
      case FrameKind.LogMark: {
        const running = this.#sent.get(id);
        if (running) running.mark = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
        return;
      }
      case FrameKind.Item:
        return this.#inOrder(id, () => this.#sent.get(id)?.input.onItem?.(payload));
      case FrameKind.Done: {
        // Usually nothing was printed, and nothing waits for lines.
        const sent = this.#sent.get(id);
        if (!sent || sent.printed >= sent.mark) return this.#done(id, payload);
        return this.#inOrder(id, () => this.#done(id, payload));
      }
      case FrameKind.Failed: {
        if (!this.#sent.has(id)) return;
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

  #done(id: number, payload: Uint8Array): void {
    // The worker checks the size too; this holds even if the function forged the frame.
    const limit = this.#maxPayloadBytes;
    if (payload.byteLength <= limit) return this.#finish(id, { value: payload });
    const message = `the result is ${payload.byteLength} bytes, over the server's limit of ${limit} bytes`;
    this.#finish(id, failed(Code.RESOURCE_EXHAUSTED, message));
  }

  /** Acts on an item or outcome now, or once the lines the call printed before it have arrived. */
  #inOrder(id: number, act: () => void): void {
    const running = this.#sent.get(id);
    if (!running || running.printed >= running.mark) return act();
    (running.held ??= []).push({ mark: running.mark, act });
  }

  #release(running: Sent<T>): void {
    const held = running.held;
    while (held && held.length > 0 && held[0].mark <= running.printed) held.shift()!.act();
  }

  #start(sent: Sent<T>): void {
    // The process is being killed for another input (cancelled, or past its deadline) whose result
    // came in after: the worker may have begun this one, but it is cut off before anything of it
    // was heard, so it goes back to the pool as never started rather than failing as a bystander.
    if (this.#killReason !== undefined) return;
    sent.started = true;
    this.#active++;
    sent.deadline = performance.now() + sent.input.timeoutMs;
    if (sent.deadline < this.#deadlineAt) this.#armDeadline(sent.deadline);
    // Cancelled while it waited, and the worker started it before it heard: it runs alone, so
    // the process goes, as for any running input cancelled.
    if (sent.cancelled && this.#maxInputs === 1) {
      this.kill(failed(Code.CANCELLED, "cancelled by the caller"), sent.input.id);
    } else if (!sent.cancelled) this.#events.started(sent.input);
  }

  #finish(id: number, outcome: CallOutcome): void {
    const sent = this.#sent.get(id);
    if (!sent) return;
    this.#sent.delete(id);
    this.#placement?.finished(1);
    if (sent.started) {
      this.#active--;
      // The worker starts the next waiting input as this one ends, in the same order.
      while (this.#active < this.#maxInputs && this.#nextWaiting < this.#waiting.length) {
        this.#start(this.#waiting[this.#nextWaiting++]);
      }
      if (this.#nextWaiting === this.#waiting.length) this.#waiting.length = this.#nextWaiting = 0;
    } else {
      // A waiting input the worker dropped when it was cancelled.
      const index = this.#waiting.indexOf(sent, this.#nextWaiting);
      if (index >= 0) this.#waiting.splice(index, 1);
    }
    this.#events.finished(sent.input, outcome);
  }

  /** One timer for all deadlines: set for the earliest, moved on when it finds none passed. */
  #armDeadline(at: number): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = setTimeout(() => this.#checkDeadlines(), Math.max(0, at - performance.now()));
  }

  #checkDeadlines(): void {
    this.#deadlineAt = Infinity;
    this.#deadlineTimer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const sent of this.#sent.values()) {
      if (!sent.started || sent.cancelled) continue;
      if (sent.deadline <= now + 1) {
        const message = `the call exceeded its timeout of ${sent.input.timeoutMs} ms`;
        return this.kill(failed(Code.DEADLINE_EXCEEDED, message), sent.input.id);
      }
      next = Math.min(next, sent.deadline);
    }
    if (next < Infinity) this.#armDeadline(next);
  }

  async #onExit(status: Deno.CommandStatus): Promise<void> {
    this.#stopping = true;
    // At once: its pid may be another process's soon.
    this.#placement?.gone(this.pid);
    clearTimeout(this.#deadlineTimer);
    // Outcomes the worker wrote before it went are still in the socket: read them first.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#drained.promise, new Promise((done) => timer = setTimeout(done, drainGraceMs))]);
    clearTimeout(timer);
    const outcome = this.#killReason ?? this.#exitOutcome(status);
    const failure = outcome.failure ?? { code: Code.INTERNAL, message: "executor exited" };
    this.#ready.reject(new StupidModalError(failure.code, failure.message));
    const sent = [...this.#sent.values()];
    this.#sent.clear();
    this.#placement?.finished(sent.length);
    this.#waiting = [];
    this.#active = 0;
    const message = `its executor was replaced (another input on it: ${outcome.failure?.message ?? "ended"})`;
    const unstarted: T[] = [];
    for (const { input, started, cancelled } of sent) {
      if (!started && !cancelled) unstarted.push(input);
      else {
        const mine = this.#killedFor === undefined || this.#killedFor === input.id;
        this.#events.finished(input, mine ? outcome : failed(Code.INTERNAL, message));
      }
    }
    if (unstarted.length > 0) this.#events.unstarted(unstarted);
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

function executorArgs(spec: ExecutorSpec, socket: string, maxInputs: number): string[] {
  const { permissions } = spec.init;
  const list = (values: string[] | false) => (values ? values : []);
  const init: ExecutorInit = { ...spec.init, socket, maxInputs };
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
