/**
 * Runs inside the sandboxed Web Worker, imported before the app's modules: routes console output
 * to the current call, turns `Deno.exit` and stray errors into call failures, and runs inputs.
 */
import { findFunction } from "../sdk/function_registry.ts";
import { decodeArgs, encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { assertTransferable } from "../wire/transferable.ts";
import type { CallInput, FromExecutor, InitMessage, RemoteErrorData } from "./executor_messages.ts";

const scope = self as unknown as Worker & { postMessage(message: unknown, transfer?: Transferable[]): void };
const post = (message: FromExecutor, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let init: InitMessage | undefined;
let currentCall = 0;

captureConsole();
forbidExit();

self.addEventListener("error", (event) => {
  event.preventDefault();
  failCurrent(event.error ?? new Error(event.message), "uncaught error");
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  failCurrent(event.reason, "unhandled promise rejection");
});

scope.onmessage = async (event: MessageEvent<InitMessage | CallInput>) => {
  const message = event.data;
  if (message.t === "init") return start(message);
  await run(message);
};

function start(message: InitMessage): void {
  init = message;
  if (findFunction(message.functionName)) return post({ t: "ready" });
  post({ t: "load_failed", message: `the app defines no function named "${message.functionName}"` });
}

async function run(input: CallInput): Promise<void> {
  currentCall = input.id;
  try {
    const fn = findFunction(init!.functionName)!;
    const result = await fn.implementation(...decodeArgs(input.args));
    assertTransferable(result, "the function's result");
    const value = encodeValue(result);
    if (value.byteLength > init!.maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `the result is ${value.byteLength} bytes, over the server's limit of ${init!.maxPayloadBytes} bytes`,
      );
    }
    post({ t: "done", id: input.id, value }, [value.buffer as ArrayBuffer]);
  } catch (err) {
    post(describeFailure(input.id, err, false));
  }
}

function failCurrent(reason: unknown, what: string): void {
  if (currentCall === 0) {
    console.error(`${what} outside any call:`, reason);
    return;
  }
  // The function's own promise may still be running: the server replaces this executor.
  post(describeFailure(currentCall, reason, true));
}

function describeFailure(id: number, err: unknown, recycle: boolean): FromExecutor {
  if (err instanceof StupidModalError) return { t: "error", id, code: err.code, message: err.message, recycle };
  const remote = remoteError(err);
  return { t: "error", id, code: Code.UNKNOWN, message: `${remote.name}: ${remote.message}`, remote, recycle };
}

function remoteError(err: unknown): RemoteErrorData {
  const error = err instanceof Error ? err : new Error(`non-Error value thrown: ${Deno.inspect(err)}`);
  return {
    name: error.name,
    message: error instanceof Deno.errors.NotCapable ? sandboxHint(error.message) : error.message,
    stack: callerPaths(error.stack ?? ""),
    cause: error.cause === undefined ? new Uint8Array() : encodeCause(error.cause),
  };
}

/** Deno suggests a flag; in the sandbox the fix is the function's `permissions` option. */
function sandboxHint(message: string): string {
  const kind = /--allow-(\w+)/.exec(message)?.[1];
  const base = message.replace(/, run again with.*$/, "");
  return kind ? `${base}: the function did not ask for it (add it to the function's permissions.${kind})` : base;
}

function encodeCause(cause: unknown): Uint8Array {
  if (cause instanceof Error) {
    return encodeValue({ name: cause.name, message: cause.message, stack: callerPaths(cause.stack ?? "") });
  }
  try {
    assertTransferable(cause, "cause");
    return encodeValue(cause);
  } catch {
    return encodeValue(Deno.inspect(cause));
  }
}

const sandboxFolder = new URL("./", import.meta.url).href;

/** Rewrites stored file URLs in a stack to the caller's own, and drops the runtime's frames. */
function callerPaths(stack: string): string {
  const lines = stack.split("\n").filter((line) => !line.includes("(ext:") && !line.includes(sandboxFolder));
  const text = lines.join("\n");
  return init ? text.replaceAll(init.bundleRoot, init.sourceRoot) : text;
}

function captureConsole(): void {
  const print = (stream: 0 | 1) => (...data: unknown[]) => {
    const text = data.map((item) => typeof item === "string" ? item : Deno.inspect(item)).join(" ");
    post({ t: "log", id: currentCall, stream, text });
  };
  Object.assign(console, {
    log: print(0),
    info: print(0),
    debug: print(0),
    error: print(1),
    warn: print(1),
    trace: print(1),
  });
}

function forbidExit(): void {
  Deno.exit = ((code?: number) => {
    const error = new Error(
      `Deno.exit(${code ?? ""}) was called inside a remote function; return a value or throw instead`,
    );
    error.name = "ExitError";
    throw error;
  }) as typeof Deno.exit;
}
