/**
 * Executor process entry: hosts one permission-restricted Web Worker running one function of one
 * app version, and relays frames, as bytes, between the server's Unix socket and the worker. It
 * exits when the server closes the socket, so a dead server leaves no executor behind.
 */
import type { ExecutorInit } from "./executor_messages.ts";
import { FrameKind, frameParts, ownsBuffer, readFrames } from "./executor_frames.ts";

/** How long a class's exit hook may run when the executor stops. */
const exitHookMs = 10_000;

// The init is the last argument (a compiled server binary passes its executor mode argument first).
const init = JSON.parse(Deno.args.at(-1)!) as ExecutorInit;
const connection = await Deno.connect({ transport: "unix", path: init.socket });
const output = connection.writable.getWriter();

const worker = new Worker(init.entry, {
  type: "module",
  name: init.functionName,
  deno: { permissions: init.permissions },
});
const exited = Promise.withResolvers<void>();
// The worker sends each frame as its parts (header, payload), written back to back; and
// "exited" once its exit hook ran.
worker.onmessage = (event: MessageEvent<Uint8Array[] | "exited">) => {
  if (event.data === "exited") return exited.resolve();
  for (const part of event.data) output.write(part).catch(() => {});
};
worker.onerror = (event) => {
  // Reached only when the app fails to load: the worker handles errors during calls itself.
  event.preventDefault();
  const parts = frameParts(FrameKind.LoadFailed, 0, new TextEncoder().encode(event.message));
  Promise.all(parts.map((part) => output.write(part))).finally(() => Deno.exit(3));
};
worker.postMessage(init);

try {
  for await (const frame of readFrames(connection.readable)) {
    // A frame inside a larger chunk is copied out so that transferring it detaches nothing else.
    const own = ownsBuffer(frame) ? frame : frame.slice();
    worker.postMessage(own, [own.buffer as ArrayBuffer]);
  }
} catch {
  // The server went away abruptly; stop all the same.
}
// The server closed the socket (scale-down, shutdown, or its own death): run the exit hook of a
// class instance, for a bounded time, then go.
worker.postMessage("exit");
setTimeout(() => exited.resolve(), exitHookMs);
await exited.promise;
Deno.exit(0);
