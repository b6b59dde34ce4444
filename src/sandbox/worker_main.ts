/**
 * Runs inside the sandboxed Web Worker, imported before the app's modules: routes console output
 * to the current call, turns `Deno.exit` and stray errors into call failures, and runs inputs.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { findFunction } from "../sdk/function_registry.ts";
import { decodeArgs, encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { assertTransferable } from "../wire/transferable.ts";
import { FrameKind, frameParts, parseFrame, parseMethodPayload } from "./executor_frames.ts";
import type { RemoteErrorInfo } from "../wire/proto.ts";
import type { ExecutorInit, FailureReport } from "./executor_messages.ts";

const scope = self as unknown as Worker;
const text = new TextEncoder();

/** Sends one frame to the executor's main thread, which writes it to the server. */
function emit(kind: FrameKind, id: number, payload: Uint8Array = new Uint8Array()): void {
  scope.postMessage(frameParts(kind, id, payload));
}

let init: ExecutorInit | undefined;
/** The call whose code is running, across its awaits (several run at once with maxInputs). */
const callContext = new AsyncLocalStorage<number>();
/** Calls running now. */
const runningCalls = new Set<number>();

captureConsole();
forbidExit();

self.addEventListener("error", (event) => {
  event.preventDefault();
  failCurrent(event.error ?? new Error(event.message));
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  failCurrent(event.reason);
});

/** For a class: the one instance this executor serves, entered once. */
// deno-lint-ignore no-explicit-any
let instance: Record<string, any> | undefined;

scope.onmessage = async (event: MessageEvent<ExecutorInit | Uint8Array | "exit">) => {
  if (event.data === "exit") return await exitInstance();
  if (!(event.data instanceof Uint8Array)) return await start(event.data);
  const frame = parseFrame(event.data);
  if (frame.kind === FrameKind.Call) {
    await run(frame.id, () => findFunction(init!.functionName)!.implementation, frame.payload);
  }
  if (frame.kind === FrameKind.Cancel) return cancelStream(frame.id);
  if (frame.kind === FrameKind.Credit) {
    return grantCredit(frame.id, new DataView(frame.payload.buffer, frame.payload.byteOffset, 4).getUint32(0));
  }
  if (frame.kind === FrameKind.CallMethod) {
    const { method, args } = parseMethodPayload(frame.payload);
    await run(frame.id, () => methodOf(method), args);
  }
};

async function start(message: ExecutorInit): Promise<void> {
  init = message;
  const fn = findFunction(message.functionName);
  if (!fn) {
    return emit(FrameKind.LoadFailed, 0, text.encode(`the app defines no function named "${message.functionName}"`));
  }
  if (message.classParams === undefined) return emit(FrameKind.Ready, 0);
  try {
    const encoded = Uint8Array.from(atob(message.classParams), (c) => c.charCodeAt(0));
    const params = encoded.byteLength > 0 ? decodeArgs(encoded) : [];
    // deno-lint-ignore no-explicit-any
    instance = new (fn.implementation as any)(...params);
    await instance!.enter?.();
    emit(FrameKind.Ready, 0);
  } catch (err) {
    const { name, message: reason } = remoteError(err);
    emit(
      FrameKind.LoadFailed,
      0,
      text.encode(`${message.functionName}'s constructor or enter() threw ${name}: ${reason}`),
    );
  }
}

/** Items a generator call may yield before the caller acknowledges more (the caller's window). */
const initialCredit = 64;
const credits = new Map<number, { left: number; more?: () => void; cancelled?: boolean }>();

function isGenerator(value: unknown): value is AsyncGenerator<unknown> | Generator<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Generator).next === "function" &&
    (Symbol.asyncIterator in value || Symbol.iterator in value) && typeof (value as Generator).throw === "function";
}

/** Sends each yielded value as an Item, waiting for credit when the caller is behind; returns the generator's return value. */
async function streamItems(id: number, generator: AsyncGenerator<unknown> | Generator<unknown>): Promise<unknown> {
  const credit: { left: number; more?: () => void; cancelled?: boolean } = { left: initialCredit };
  credits.set(id, credit);
  try {
    while (true) {
      const step = await generator.next();
      if (step.done) return step.value;
      assertTransferable(step.value, "a yielded value");
      emit(FrameKind.Item, id, encodeValue(step.value));
      if (--credit.left <= 0) await new Promise<void>((resolve) => credit.more = resolve);
      if (credit.cancelled) {
        await generator.return(undefined);
        return undefined;
      }
    }
  } finally {
    credits.delete(id);
  }
}

function cancelStream(id: number): void {
  const credit = credits.get(id);
  if (!credit) return;
  credit.cancelled = true;
  credit.more?.();
  credit.more = undefined;
}

function grantCredit(id: number, count: number): void {
  const credit = credits.get(id);
  if (!credit) return;
  credit.left += count;
  if (credit.left > 0) {
    credit.more?.();
    credit.more = undefined;
  }
}

/** A method of the instance that calls may use (not the lifecycle hooks). */
function methodOf(method: string): (...args: unknown[]) => unknown {
  const fn = lifecycleHooks.has(method) ? undefined : instance?.[method];
  if (typeof fn !== "function") {
    throw new StupidModalError(Code.NOT_FOUND, `class ${init!.functionName} has no method "${method}"`);
  }
  return fn.bind(instance);
}

const lifecycleHooks = new Set(["constructor", "enter", "exit"]);

/** Runs a class instance's exit hook (errors are ignored: the executor is going anyway). */
async function exitInstance(): Promise<void> {
  try {
    await instance?.exit?.();
  } catch {
    // Nothing to report to: no call is running.
  }
  scope.postMessage("exited");
}

function run(id: number, target: () => (...args: unknown[]) => unknown, args: Uint8Array): Promise<void> {
  runningCalls.add(id);
  return callContext.run(id, () => runCall(id, target, args)).finally(() => runningCalls.delete(id));
}

async function runCall(id: number, target: () => (...args: unknown[]) => unknown, args: Uint8Array): Promise<void> {
  try {
    let result = target()(...decodeArgs(args));
    if (isGenerator(result)) result = await streamItems(id, result);
    result = await result;
    assertTransferable(result, "the function's result");
    const value = encodeValue(result);
    if (value.byteLength > init!.maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `the result is ${value.byteLength} bytes, over the server's limit of ${init!.maxPayloadBytes} bytes`,
      );
    }
    emit(FrameKind.Done, id, value);
  } catch (err) {
    emit(FrameKind.Failed, id, encodeValue(describeFailure(err, false)));
  }
}

/**
 * A stray error or rejection cannot be traced to one call: every running call fails with it and
 * the server replaces this executor (their promises may still be running). Outside any call there
 * is nobody to tell, and the executor lives on.
 */
function failCurrent(reason: unknown): void {
  for (const id of runningCalls) emit(FrameKind.Failed, id, encodeValue(describeFailure(reason, true)));
}

function describeFailure(err: unknown, recycle: boolean): FailureReport {
  if (err instanceof StupidModalError && Code[err.code] !== undefined && err.code !== Code.OK) {
    return { code: err.code, message: String(err.message), recycle };
  }
  const remote = remoteError(err);
  return { code: Code.UNKNOWN, message: `${remote.name}: ${remote.message}`, remote, recycle };
}

function remoteError(err: unknown): RemoteErrorInfo {
  const error = err instanceof Error ? err : new Error(`non-Error value thrown: ${Deno.inspect(err)}`);
  const message = String(error.message);
  return {
    name: String(error.name),
    // A denied dynamic import is a TypeError with the same "Requires … access" text.
    message: error instanceof Deno.errors.NotCapable || /^Requires \w+ access/.test(message)
      ? sandboxHint(message)
      : message,
    stack: callerPaths(String(error.stack ?? "")),
    cause: error.cause === undefined ? new Uint8Array() : encodeCause(error.cause),
  };
}

/** Deno suggests a flag; in the sandbox the fix is the function's `permissions` option. */
function sandboxHint(message: string): string {
  const kind = /--allow-(\w+)/.exec(message)?.[1];
  const base = message.replace(/, run again with.*$/, "");
  if (!kind || !base.startsWith("Requires ")) return base;
  // run, ffi, sys and import are never granted: no option of the function would help.
  if (!["read", "write", "net", "env"].includes(kind)) return `${base}: functions never get ${kind} access`;
  return `${base}: the function did not ask for it (add it to the function's permissions.${kind})`;
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
  const joined = lines.join("\n");
  return init ? joined.replaceAll(init.bundleRoot, init.sourceRoot) : joined;
}

function captureConsole(): void {
  const print = (kind: FrameKind) => (...data: unknown[]) => {
    const line = data.map((item) => typeof item === "string" ? item : Deno.inspect(item)).join(" ");
    // Output from outside any call (a timer left behind) is dropped by the server.
    emit(kind, callContext.getStore() ?? 0, text.encode(line));
  };
  Object.assign(console, {
    log: print(FrameKind.Stdout),
    info: print(FrameKind.Stdout),
    debug: print(FrameKind.Stdout),
    error: print(FrameKind.Stderr),
    warn: print(FrameKind.Stderr),
    trace: print(FrameKind.Stderr),
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
