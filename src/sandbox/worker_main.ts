/**
 * Runs inside the sandboxed Web Worker, imported before the app's modules: talks to the server
 * over the executor's Unix socket itself (frames in, frames out, coalesced per turn), routes
 * console output to the current call (through the main thread, so it leaves even while the call
 * keeps this thread busy), turns `Deno.exit` and stray errors into call failures, and runs inputs.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { findFunction } from "../sdk/function_registry.ts";
import { decodeArgs, encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { assertTransferable } from "../wire/transferable.ts";
import { FrameKind, parseMethodPayload, readFrames } from "./executor_frames.ts";
import { FrameWriter } from "./frame_writer.ts";
import { encodeParts } from "../wire/cbor_parts.ts";
import type { RemoteErrorInfo } from "../wire/proto.ts";
import type { ExecutorInit, FailureReport } from "./executor_messages.ts";

const scope = self as unknown as Worker;
const text = new TextEncoder();
/** A printed line longer than this reaches the server cut short (the server cuts it there too). */
const maxLogLineBytes = 64 * 1024;

/** Frames to the server; none before the worker is connected (output then has no call to go to). */
let writer: FrameWriter | undefined;

/** Sends one frame to the server, with whatever else this turn sends. */
function emit(kind: FrameKind, id: number, payload?: Uint8Array | Uint8Array[]): void {
  writer?.frame(kind, id, payload);
}

/** Lines each running call has printed, while it has printed any. */
const printed = new Map<number, number>();

/**
 * Sends an item or outcome of a call, first telling how many lines the call has printed: they
 * travel another way, and the server waits for them before it acts on what follows.
 */
function emitAfterLines(kind: FrameKind, id: number, payload: Uint8Array | Uint8Array[], last: boolean): void {
  const lines = printed.get(id);
  if (lines !== undefined) {
    const count = new Uint8Array(4);
    new DataView(count.buffer).setUint32(0, lines);
    emit(FrameKind.LogMark, id, count);
    if (last) printed.delete(id);
  }
  emit(kind, id, payload);
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

// The executor's main thread sends the init, once; everything after comes over the socket.
scope.onmessage = (event: MessageEvent<ExecutorInit>) => {
  scope.onmessage = null;
  serve(event.data);
};

/** Connects, loads the function, serves frames until the server closes the socket, then runs the exit hook. */
async function serve(message: ExecutorInit): Promise<void> {
  init = message;
  const connection = await Deno.connect({ transport: "unix", path: message.socket });
  writer = new FrameWriter(connection);
  if (await start(message)) {
    try {
      await readFrames(connection, receive);
    } catch {
      // The server went away abruptly; stop all the same.
    }
  }
  // The server closed the socket (scale-down, shutdown, or its own death); the main thread bounds
  // the exit hook's time.
  await exitInstance();
}

/** An input given to this executor: run at once while fewer than `maxInputs` run, else queued. */
interface Input {
  id: number;
  kind: FrameKind;
  payload: Uint8Array;
}

/** Inputs waiting to start, in the order given, from `nextWaiting` on. */
const waiting: Input[] = [];
let nextWaiting = 0;
/** Whether waiting inputs are due to start once the results before them are written. */
let startQueued = false;

function receive(kind: FrameKind, id: number, payload: Uint8Array): void {
  switch (kind) {
    case FrameKind.Call:
    case FrameKind.CallMethod:
      waiting.push({ id, kind, payload });
      return startWaiting();
    case FrameKind.Cancel:
      return cancelInput(id);
    case FrameKind.Credit:
      return grantCredit(id, new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0));
  }
}

function begin(input: Input): void {
  if (input.kind === FrameKind.Call) return run(input.id, functionImplementation, input.payload);
  const { method, args } = parseMethodPayload(input.payload);
  run(input.id, () => methodOf(method), args);
}

/**
 * Starts waiting inputs while fewer than `maxInputs` run, each only once every result before it
 * is written: so the server has them even if that input then keeps this thread busy for good (the
 * server starts an input's deadline on reading the result before it).
 */
function startWaiting(): void {
  if (startQueued) return;
  while (runningCalls.size < init!.maxInputs && nextWaiting < waiting.length) {
    if (writer!.writing) {
      startQueued = true;
      writer!.afterWrites(() => {
        startQueued = false;
        startWaiting();
      });
      return;
    }
    begin(waiting[nextWaiting++]);
  }
  if (nextWaiting === waiting.length) waiting.length = nextWaiting = 0;
}

/** A waiting input is dropped (and the server told); a running generator stops at its next yield. */
function cancelInput(id: number): void {
  const index = waiting.findIndex((input, at) => at >= nextWaiting && input.id === id);
  if (index < 0) return cancelStream(id);
  waiting.splice(index, 1);
  emit(FrameKind.Failed, id, encodeValue({ code: Code.CANCELLED, message: "cancelled by the caller" }));
}

function functionImplementation(): (...args: unknown[]) => unknown {
  return findFunction(init!.functionName)!.implementation as (...args: unknown[]) => unknown;
}

/** Loads the function (and enters a class's instance); tells the server Ready or LoadFailed. */
async function start(message: ExecutorInit): Promise<boolean> {
  const fn = findFunction(message.functionName);
  if (!fn) {
    emit(FrameKind.LoadFailed, 0, text.encode(`the app defines no function named "${message.functionName}"`));
    return false;
  }
  if (message.classParams === undefined) {
    emit(FrameKind.Ready, 0);
    return true;
  }
  try {
    const encoded = Uint8Array.from(atob(message.classParams), (c) => c.charCodeAt(0));
    const params = encoded.byteLength > 0 ? decodeArgs(encoded) : [];
    // deno-lint-ignore no-explicit-any
    instance = new (fn.implementation as any)(...params);
    await instance!.enter?.();
    emit(FrameKind.Ready, 0);
    return true;
  } catch (err) {
    const { name, message: reason } = remoteError(err);
    emit(
      FrameKind.LoadFailed,
      0,
      text.encode(`${message.functionName}'s constructor or enter() threw ${name}: ${reason}`),
    );
    return false;
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
      emitAfterLines(FrameKind.Item, id, encodeParts(step.value), false);
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

/** Starts one input; a function that returns a plain value is done before this returns. */
function run(id: number, target: () => (...args: unknown[]) => unknown, args: Uint8Array): void {
  runningCalls.add(id);
  callContext.run(id, () => runCall(id, target, args));
}

function runCall(id: number, target: () => (...args: unknown[]) => unknown, args: Uint8Array): void {
  let result: unknown;
  try {
    result = target()(...decodeArgs(args));
    if (isGenerator(result)) {
      streamItems(id, result).then((value) => finish(id, value), (err) => fail(id, err));
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then((value) => finish(id, value), (err) => fail(id, err));
      return;
    }
  } catch (err) {
    return fail(id, err);
  }
  finish(id, result);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** Sends a call's result. */
function finish(id: number, result: unknown): void {
  try {
    assertTransferable(result, "the function's result");
    // A large byte array goes out from where it lies, behind its CBOR header.
    const value = encodeParts(result);
    let bytes = 0;
    for (const part of value) bytes += part.byteLength;
    if (bytes > init!.maxPayloadBytes) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `the result is ${bytes} bytes, over the server's limit of ${init!.maxPayloadBytes} bytes`,
      );
    }
    runningCalls.delete(id);
    emitAfterLines(FrameKind.Done, id, value, true);
    startWaiting();
  } catch (err) {
    fail(id, err);
  }
}

/** Sends a call's failure. */
function fail(id: number, err: unknown): void {
  if (!runningCalls.delete(id)) return;
  emitAfterLines(FrameKind.Failed, id, encodeValue(describeFailure(err, false)), true);
  startWaiting();
}

/**
 * A stray error or rejection cannot be traced to one call: every running call fails with it and
 * the server replaces this executor (their promises may still be running). Outside any call there
 * is nobody to tell, and the executor lives on.
 */
function failCurrent(reason: unknown): void {
  for (const id of runningCalls) {
    emitAfterLines(FrameKind.Failed, id, encodeValue(describeFailure(reason, true)), false);
  }
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
    // Output from outside any call (a timer left behind) has nobody to go to.
    const id = callContext.getStore();
    if (id === undefined) return;
    const line = data.map((item) => typeof item === "string" ? item : Deno.inspect(item)).join(" ");
    const bytes = text.encode(line).slice(0, maxLogLineBytes);
    printed.set(id, (printed.get(id) ?? 0) + 1);
    scope.postMessage([kind, id, bytes], [bytes.buffer]);
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
