/** The embedded store: a killed server loses no deployed app and no spawned call; a corrupt store is a clear error. */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { Client } from "../client.ts";
import { FunctionCall } from "../mod.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { serverPermissions, startTestServer, type TestServer } from "./helpers/test_server.ts";

const serverPath = new URL("../server.ts", import.meta.url).pathname;

/** Waits for a log line of the app whose text matches, following its logs. */
async function logLine(client: Client, appName: string, pattern: RegExp): Promise<string> {
  const abort = new AbortController();
  try {
    for await (const entry of client.appLogs({ app_name: appName, follow: true }, abort.signal)) {
      if (pattern.test(entry.text)) return entry.text;
    }
    throw new Error(`the log of ${appName} ended without a line matching ${pattern}`);
  } finally {
    abort.abort();
  }
}

Deno.test("a server killed with finished, running and queued spawned calls loses none of them", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-test-" });
  let server: TestServer | undefined = await startTestServer([], { dataDir });
  try {
    const version = await deployFixture(server, "tests/fixtures/durable_app.ts");
    const first = new Client({ server: server.address, token: server.token });
    const spawn = (label: string, ms: number) => first.spawn({ appName: "durable", functionName: "work" }, [label, ms]);
    const finished = await spawn("finished", 0);
    equal(await FunctionCall.fromId(finished, { server: server.address, token: server.token }).get(), "done finished");
    const running = await spawn("running", 1_500);
    await logLine(first, "durable", /^start running$/);
    const queued = await spawn("queued", 0);
    first.close();

    server.process.kill("SIGKILL");
    await server.process.status;
    server = await startTestServer([], { dataDir, token: server.token });
    const options = { server: server.address, token: server.token };
    const again = new Client(options);
    try {
      equal((await again.listApps("durable")).apps[0].version, version, "the deployed app came back");
      equal(await FunctionCall.fromId(finished, options).get(), "done finished", "a finished call keeps its result");
      ok(server.output.some((line) => /resumed 2 spawned calls/.test(line)), server.output.join("\n"));
      // The call killed mid-run ran again from the start (at least once), then the queued one.
      equal(await FunctionCall.fromId(running, options).get(), "done running");
      equal(await FunctionCall.fromId(queued, options).get(), "done queued");
      const calls = await again.listCalls("durable");
      deepStrictEqual(calls.map((call) => call.call_id).sort(), [finished, running, queued].sort());
      const byId = new Map(calls.map((call) => [call.call_id, call]));
      equal(byId.get(finished)!.state, 1);
      equal(byId.get(queued)!.state, 1);
      equal(byId.get(running)!.state, 1);
      equal(byId.get(running)!.trigger, "spawn");
      const starts = (await Array.fromAsync(again.appLogs({ app_name: "durable", tail: 50 })))
        .map((entry) => entry.text).filter((text) => text.startsWith("start "));
      // Lines written before the kill are kept too: "running" started twice, the others once.
      deepStrictEqual(starts, ["start finished", "start running", "start running", "start queued"]);
    } finally {
      again.close();
    }
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Starts a server on `dataDir` expecting it to refuse; resolves with its exit code and output. */
async function refusedStart(dataDir: string): Promise<{ code: number; text: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...serverPermissions, serverPath, "--port=0", `--data-dir=${dataDir}`],
    env: { STUPID_MODAL_TOKEN: "t", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, text: decode(output.stdout) + decode(output.stderr) };
}

Deno.test("a corrupt store or an unusable data directory is a clear start-up error, and nothing is overwritten", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-test-" });
  try {
    const garbage = new TextEncoder().encode("this is not a database, ".repeat(200));
    await Deno.writeFile(join(dataDir, "store.db"), garbage);
    const corrupt = await refusedStart(dataDir);
    equal(corrupt.code, 1);
    match(corrupt.text, /cannot open the store .*store\.db: file is not a database/);
    doesNotCrash(corrupt.text);
    deepStrictEqual(await Deno.readFile(join(dataDir, "store.db")), garbage, "the file was left as it was");

    const notADirectory = join(dataDir, "store.db");
    const file = await refusedStart(notADirectory);
    equal(file.code, 1);
    match(file.text, /data directory/i);
    doesNotCrash(file.text);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

function doesNotCrash(text: string): void {
  ok(!/panic|Uncaught|stack backtrace/i.test(text), `a crash, not a clear error:\n${text}`);
}
