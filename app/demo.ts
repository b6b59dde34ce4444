/**
 * `deno task demo`: starts an embedded server with the demo's grants on a free port, runs the app
 * against it with sample inputs (with exactly the permissions of `deno task app`), and stops.
 *
 * @module
 */
import { parseServerArgs } from "../src/server/server_config.ts";
import { startServer } from "../src/server/start_server.ts";

const sampleInput = "3 5\nthree 5\n1.5 -2\n";

const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-demo-" });
const token = crypto.randomUUID();
const config = parseServerArgs(["--port=0", "--grant-read=app/models", `--data-dir=${dataDir}`], { token });
if (config === "help") throw new Error("unreachable");
const server = await startServer(config, (line) => console.log(`  [server] ${line}`));
console.log(`server listening on ${server.address}, granting read access to app/models\n`);

// The app runs exactly as `deno task app` would: same flags, read from deno.json.
const deno = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
const appArgs = (deno.tasks.app as string).split(" ").slice(1);
console.log(`$ echo ${JSON.stringify(sampleInput)} | deno ${appArgs.join(" ")}`);
const child = new Deno.Command(Deno.execPath(), {
  args: appArgs,
  env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: token },
  stdin: "piped",
}).spawn();
const input = child.stdin.getWriter();
await input.write(new TextEncoder().encode(sampleInput));
await input.close();
const status = await child.status;

await server.shutdown();
await Deno.remove(dataDir, { recursive: true });
console.log(`\ndemo finished (app exit code ${status.code})`);
Deno.exit(status.code);
