/**
 * The server's handle on one executor process: spawns it with exactly its function's permissions
 * and heap cap, runs one input at a time over CBOR frames, and tells why it died.
 */
import { Code } from "../wire/errors.ts";
import { encodeFrame, readFrames } from "../wire/frames.ts";
import { type CallOutcome, failed } from "./call_outcome.ts";
import type { FromExecutor, InitMessage, LogMessage } from "./executor_messages.ts";

/** Everything needed to start executors for one function of one app version. */
export interface ExecutorSpec {
  init: InitMessage;
  /** Folders the executor process reads code from (the runtime's and the app version's). */
  codeFolders: string[];
  /** The Deno config (import map, node_modules) executors run with. */
  configPath: string;
  memoryMb: number;
  /** The server's values of the environment variables the function may read. */
  env: Record<string, string>;
}

const executorMain = new URL("./executor_main.ts", import.meta.url).pathname;

/** The V8 exit status of a process that ran out of heap (SIGTRAP). */
const outOfMemoryStatus = 133;

interface RunningInput {
  id: number;
  onLog: (line: LogMessage) => void;
  settle: (outcome: CallOutcome) => void;
}

/** One live executor process. */
export class ExecutorProcess {
  readonly pid: number;
  readonly startedAt = Date.now();
  callsServed = 0;
  /** Resolves with the exit status once the process is gone. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #input: WritableStreamDefaultWriter<Uint8Array>;
  #running: RunningInput | undefined;
  #killReason: CallOutcome | undefined;
  #ready: PromiseWithResolvers<void> = Promise.withResolvers();
  #memoryMb: number;
  #stderrTail = "";
  #stopping = false;

  private constructor(spec: ExecutorSpec) {
    this.#memoryMb = spec.memoryMb;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: executorArgs(spec),
      clearEnv: true,
      env: { ...baseEnv(), ...spec.env, DENO_V8_FLAGS: `--max-old-space-size=${spec.memoryMb}`, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#input = this.#child.stdin.getWriter();
    this.#input.closed.catch(() => {});
    this.exited = this.#child.status;
    this.#ready.promise.catch(() => {});
    this.#readOutput();
    this.#keepStderrTail().catch(() => {});
    this.exited.then((status) => this.#onExit(status));
  }

  /** Spawns an executor and sends it its function; `ready` tells when it can take inputs. */
  static spawn(spec: ExecutorSpec): ExecutorProcess {
    const executor = new ExecutorProcess(spec);
    executor.#send(spec.init).catch(() => {});
    return executor;
  }

  /** Resolves once the function is loaded; rejects with why it could not be. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Runs one input; the outcome is a value or a failure, never a rejection. */
  run(id: number, args: Uint8Array, onLog: (line: LogMessage) => void): Promise<CallOutcome> {
    return new Promise((settle) => {
      this.#running = { id, onLog, settle };
      this.#send({ t: "call", id, args }).catch(() => {});
    });
  }

  /** False once the process was killed, asked to stop, or died. */
  get usable(): boolean {
    return this.#killReason === undefined && !this.#stopping;
  }

  /** Kills the process; the running input, if any, gets `reason`. */
  kill(reason: CallOutcome): void {
    this.#killReason ??= reason;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Asks the process to end by closing its input; it exits on its own. */
  stop(): void {
    this.#stopping = true;
    this.#input.close().catch(() => {});
  }

  async #send(message: unknown): Promise<void> {
    await this.#input.write(encodeFrame(message));
  }

  async #readOutput(): Promise<void> {
    try {
      for await (const message of readFrames(this.#child.stdout) as AsyncGenerator<FromExecutor>) {
        this.#receive(message);
      }
    } catch (err) {
      // A function that writes raw bytes to stdout breaks the frames: replace this executor.
      this.kill(failed(Code.INTERNAL, `executor output was corrupted (${err}); it was replaced`));
    }
  }

  #receive(message: FromExecutor): void {
    switch (message.t) {
      case "ready":
        return this.#ready.resolve();
      case "load_failed":
        return this.#ready.reject(new Error(message.message));
      case "log":
        if (this.#running?.id === message.id) this.#running.onLog(message);
        return;
      case "done":
        return this.#finish(message.id, { value: message.value });
      case "error": {
        const { code, message: text, remote } = message;
        this.#finish(message.id, { failure: { code, message: text, remote } });
        if (message.recycle) this.kill(failed(Code.INTERNAL, "executor recycled"));
        return;
      }
    }
  }

  #finish(id: number, outcome: CallOutcome): void {
    const running = this.#running;
    if (running?.id !== id) return;
    this.#running = undefined;
    this.callsServed++;
    running.settle(outcome);
  }

  #onExit(status: Deno.CommandStatus): void {
    this.#stopping = true;
    const outcome = this.#killReason ?? this.#exitOutcome(status);
    this.#ready.reject(new Error(outcome.failure?.message ?? "executor exited"));
    const running = this.#running;
    this.#running = undefined;
    running?.settle(outcome);
  }

  #exitOutcome(status: Deno.CommandStatus): CallOutcome {
    if (status.code === outOfMemoryStatus || /out of memory|heap limit/i.test(this.#stderrTail)) {
      return failed(
        Code.RESOURCE_EXHAUSTED,
        `out of memory: the function exceeded its ${this.#memoryMb} MB heap limit`,
      );
    }
    const tail = this.#stderrTail.trim().split("\n").slice(-3).join(" | ");
    return failed(Code.INTERNAL, `executor exited unexpectedly (status ${status.code}${tail ? `: ${tail}` : ""})`);
  }

  async #keepStderrTail(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4096);
    }
  }
}

function executorArgs(spec: ExecutorSpec): string[] {
  const { permissions } = spec.init;
  const list = (values: string[] | false) => (values ? values : []);
  const read = [...spec.codeFolders, ...list(permissions.read)];
  const args = [
    "run",
    "--quiet",
    "--no-prompt",
    "--cached-only",
    "--no-lock",
    "--unstable-worker-options",
    `--config=${spec.configPath}`,
    `--allow-read=${read.join(",")}`,
  ];
  if (permissions.write) args.push(`--allow-write=${permissions.write.join(",")}`);
  if (permissions.net) args.push(`--allow-net=${permissions.net.join(",")}`);
  if (permissions.env) args.push(`--allow-env=${permissions.env.join(",")}`);
  args.push(executorMain);
  return args;
}

/** What Deno itself needs to find its cache; nothing else of the server's environment passes. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
