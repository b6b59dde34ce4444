/**
 * `deno task server`: starts a Stupid Modal server. `--help` lists every flag.
 *
 * Compiled (`deno task compile`), this is also the entry of the server's executors: the binary
 * starts them as itself, `stupid-modal-server executor <init>`.
 *
 * @module
 */
import { executorMode, runExecutor } from "./src/sandbox/standalone.ts";

if (Deno.args[0] === executorMode) await runExecutor();
// Imported here, not statically, so that an executor does not load the server's modules.
const { helpText, parseServerArgs } = await import("./src/server/server_config.ts");
const { startServer } = await import("./src/server/start_server.ts");
const { LineOutput } = await import("./src/server/line_output.ts");

let config;
try {
  config = parseServerArgs(Deno.args, { token: Deno.env.get("STUPID_MODAL_TOKEN") });
} catch (err) {
  console.error(`error: ${(err as Error).message}\n\n${helpText}`);
  Deno.exit(2);
}
if (config === "help") {
  console.log(helpText);
  Deno.exit(0);
}

// One line per call: the lines of one turn are written together.
const output = new LineOutput();
const print = (line: string) => output.write(line);
let server;
try {
  server = await startServer(config, print);
} catch (err) {
  output.flush();
  console.error(`error: ${(err as Error).message}`);
  Deno.exit(1);
}
if (server.tokenGenerated) {
  print(`token (written to ${server.tokenFile}): ${server.token}`);
  print(`callers use it with: export STUPID_MODAL_TOKEN=${server.token}`);
} else if (server.tokenFile) {
  print(`token: the one in ${server.tokenFile} (callers: export STUPID_MODAL_TOKEN=$(cat ${server.tokenFile}))`);
}

let signalled = false;
const stop = async (signal: string) => {
  if (signalled) return;
  signalled = true;
  print(`${signal}: stopping (in-flight calls have ${config.graceMs} ms to finish)`);
  await server.shutdown();
  print("stopped");
  output.flush();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));

if (server.webUrl) {
  print(`web endpoints on ${server.webUrl}/apps/<app>/<function>`);
  print(`dashboard on ${server.webUrl}/`);
}
// Printed last: tools wait for this line to know the server is ready (and stoppable).
print(`listening on ${server.address}`);
