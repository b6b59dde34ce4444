/**
 * Executor process entry: hosts one permission-restricted Web Worker running one function of one
 * app version, and relays frames between the server (stdin/stdout) and the worker. It exits when
 * the server closes its stdin, so a dead server leaves no executor behind.
 */
import { encodeFrame, readFrames } from "../wire/frames.ts";
import type { FromExecutor, InitMessage, ToExecutor } from "./executor_messages.ts";

const output = Deno.stdout.writable.getWriter();
const send = (message: FromExecutor) => output.write(encodeFrame(message));

const frames = readFrames(Deno.stdin.readable) as AsyncGenerator<ToExecutor>;
const first = await frames.next();
if (first.done || first.value.t !== "init") Deno.exit(2);
const init = first.value as InitMessage;

const worker = new Worker(init.entry, {
  type: "module",
  name: init.functionName,
  deno: { permissions: init.permissions },
});
worker.onmessage = (event: MessageEvent<FromExecutor>) => send(event.data);
worker.onerror = (event) => {
  // Reached only when the app fails to load: the worker handles errors during calls itself.
  event.preventDefault();
  send({ t: "load_failed", message: event.message }).then(() => Deno.exit(3));
};
worker.postMessage(init);

for await (const message of frames) {
  if (message.t !== "call") continue;
  // The args may share their buffer with the next frame's bytes: copy them out, then transfer.
  const args = message.args.slice();
  worker.postMessage({ ...message, args }, [args.buffer]);
}
Deno.exit(0);
