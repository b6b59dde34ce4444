/**
 * Executor process entry: hosts one permission-restricted Web Worker running one function of one
 * app version. The worker talks to the server over the executor's Unix socket itself (its
 * permissions name that one path besides the function's own), so calls and results cross no
 * thread here. This thread has a connection of its own, made first: it carries the lines the
 * function prints (they reach the server even while the function's code keeps the worker busy) and
 * a failure to load, and its end tells that the server is gone, so no executor outlives it.
 */
import type { ExecutorInit, WorkerPermissions } from "./executor_messages.ts";
import { FrameKind, readFrames } from "./executor_frames.ts";
import { FrameWriter } from "./frame_writer.ts";

/** How long a class's exit hook may run when the executor stops. */
const exitHookMs = 10_000;

// The init is the last argument (a compiled server binary passes its executor mode argument first).
const init = JSON.parse(Deno.args.at(-1)!) as ExecutorInit;
const connection = await Deno.connect({ transport: "unix", path: init.socket });
const output = new FrameWriter(connection);
const done = Promise.withResolvers<number>();
let exitTimer: ReturnType<typeof setTimeout> | undefined;
/** The server is done with this executor: the exit hook gets a bounded time. */
const closing = () => exitTimer ??= setTimeout(() => done.resolve(0), exitHookMs);

const worker = new Worker(init.entry, {
  type: "module",
  name: init.functionName,
  deno: { permissions: withSocket(init.permissions, init.socket) },
});
// A printed line as [kind, call id, UTF-8 bytes]; "exited" once the exit hook ran. The function's
// own code may post here too: anything else is ignored.
worker.onmessage = (event: MessageEvent<unknown>) => {
  const data = event.data;
  if (data === "exited") return done.resolve(0);
  if (!Array.isArray(data) || data.length !== 3) return;
  const [kind, id, text] = data;
  if ((kind !== FrameKind.Stdout && kind !== FrameKind.Stderr) || !Number.isInteger(id)) return;
  if (id < 1 || id > 0xffffffff || !(text instanceof Uint8Array)) return;
  output.frame(kind, id, text);
};
worker.onerror = (event) => {
  // Reached only when the app fails to load: the worker handles errors during calls itself.
  event.preventDefault();
  output.frame(FrameKind.LoadFailed, 0, new TextEncoder().encode(event.message));
  output.end().finally(() => done.resolve(3));
};
worker.postMessage(init);
// Nothing comes this way: the connection ends when the server stops this executor or dies.
readFrames(connection, () => {}).catch(() => {}).finally(closing);

Deno.exit(await done.promise);

/** The function's permissions, and the socket the worker connects to. */
function withSocket(permissions: WorkerPermissions, socket: string): WorkerPermissions {
  return {
    ...permissions,
    read: [...(permissions.read || []), socket],
    write: [...(permissions.write || []), socket],
    net: [...(permissions.net || []), `unix:${socket}`],
  };
}
