/**
 * examples/python_client.py calls the deployed demo from Debian's Python with only the proto and a CBOR library
 * (python3-grpcio, python3-cbor2), and explains a wrong token, an unknown function and an unreachable server.
 */
import { equal, match } from "node:assert/strict";
import { startTestServer } from "./helpers/test_server.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const deployApp = new URL("./fixtures/deploy_app.ts", import.meta.url).pathname;
// Debian's Python, where apt installs python3-grpcio and python3-cbor2 (not a pyenv python on PATH).
const python = "/usr/bin/python3";
const packages = ["python3-grpcio", "python3-cbor2"];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const output = await new Deno.Command(command, { args, cwd: repoRoot, env, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

async function hasPythonPackages(): Promise<Ran> {
  try {
    return await run(python, ["-c", "import grpc, cbor2"]);
  } catch (err) {
    return { code: -1, stdout: "", stderr: `cannot run ${python}: ${(err as Error).message}` };
  }
}

async function canRun(command: string): Promise<boolean> {
  try {
    return (await Deno.stat(command)).isFile;
  } catch {
    return false;
  }
}

/** Makes sure Debian's python3-grpcio and python3-cbor2 are installed, installing them when root; fails otherwise. */
async function ensurePythonPackages(): Promise<void> {
  let probe = await hasPythonPackages();
  if (probe.code === 0) return;
  const log: string[] = [probe.stderr.trim()];
  if (Deno.uid() === 0 && await canRun("/usr/bin/apt-get")) {
    // Waits for another apt/dpkg run to release its lock rather than failing at once.
    const install = ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", ...packages];
    let installed = await run("/usr/bin/apt-get", install);
    if (installed.code !== 0) {
      // The package lists may be missing or stale: refresh them once and retry.
      const updated = await run("/usr/bin/apt-get", ["-o", "DPkg::Lock::Timeout=300", "update", "-qq"]);
      log.push(updated.stderr.trim());
      installed = await run("/usr/bin/apt-get", install);
    }
    log.push(installed.stdout.trim(), installed.stderr.trim());
    probe = await hasPythonPackages();
    if (probe.code === 0) return;
    log.push(probe.stderr.trim());
  } else {
    log.push("not root, or no /usr/bin/apt-get: cannot install them here");
  }
  throw new Error(
    `this test needs Debian's ${packages.join(" and ")} for ${python} ` +
      `(apt-get install ${packages.join(" ")}):\n${log.filter(Boolean).join("\n")}`,
  );
}

/** Deploys the `app` a module exports, from a separate caller process as a user would. */
async function deploy(module: string, env: Record<string, string>): Promise<void> {
  const permissions = ["--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-env"];
  const { code, stdout, stderr } = await run(Deno.execPath(), ["run", ...permissions, deployApp, module], {
    ...env,
    NO_COLOR: "1",
  });
  equal(code, 0, `deploying ${module} failed:\n${stdout}${stderr}`);
  match(stdout, /^[0-9a-f]{64}$/m, `${module}'s deployed version`);
}

Deno.test("a Python gRPC client calls the deployed demo with only the proto and CBOR", async (t) => {
  await ensurePythonPackages();
  const server = await startTestServer(["--grant-read=app/models"]);
  const env = { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token };
  const client = (args: string[], overrides: Record<string, string> = {}) =>
    run(python, ["examples/python_client.py", ...args], { ...env, ...overrides });
  let stopped = false;
  try {
    await deploy("app/app.ts", env);
    await deploy("tests/fixtures/fanout_app.ts", env);

    await t.step("calls demo.inference(3, 5) and prints the result", async () => {
      const { code, stdout, stderr } = await client(["demo", "inference", "3", "5"]);
      equal(code, 0, stderr);
      equal(stdout, "21.5\n");
    });

    await t.step("JSON arguments: floats and negatives travel as CBOR", async () => {
      const { code, stdout, stderr } = await client(["demo", "inference", "1.5", "-2"]);
      equal(code, 0, stderr);
      equal(stdout, "-2.5\n");
    });

    await t.step("CBOR maps, arrays, strings and nulls come back as JSON", async () => {
      const { code, stdout, stderr } = await client(["fanout-fixture", "failsOn", '{"a": [1, 2.5, "x", null]}', "0"]);
      equal(code, 0, stderr);
      equal(stdout, '{"a": [1, 2.5, "x", null]}\n');
    });

    await t.step("whole numbers beyond 32 bits travel as JavaScript numbers both ways", async () => {
      const { code, stdout, stderr } = await client(["fanout-fixture", "add", "1099511627776", "-4294967297"]);
      equal(code, 0, stderr);
      equal(stdout, "1095216660479\n");
    });

    await t.step("the function's exception exits nonzero with its name, message and stack", async () => {
      const { code, stdout, stderr } = await client(["fanout-fixture", "failsOn", "3", "3"]);
      equal(code, 1, stderr);
      equal(stdout, "");
      match(stderr, /^fanout-fixture\.failsOn raised RangeError: input 3 is bad$/m);
      match(stderr, /^ +at failsOn \(file:\/\/.*\/tests\/fixtures\/fanout_app\.ts:\d+:\d+\)$/m);
    });

    await t.step("a wrong token exits nonzero saying unauthenticated", async () => {
      const { code, stdout, stderr } = await client(["demo", "inference", "3", "5"], { STUPID_MODAL_TOKEN: "wrong" });
      equal(code, 1, stderr);
      equal(stdout, "");
      match(stderr, /^unauthenticated: set STUPID_MODAL_TOKEN to the server's token: wrong token$/m);
    });

    await t.step("an unknown function exits nonzero with the server's NOT_FOUND message", async () => {
      const { code, stdout, stderr } = await client(["demo", "no_such_function", "1"]);
      equal(code, 1, stderr);
      equal(stdout, "");
      match(stderr, /^not found: app "demo" has no function "no_such_function" \(it has: inference\)$/m);
    });

    await t.step("an argument that is not JSON is a usage error, before any call", async () => {
      const { code, stderr } = await client(["demo", "inference", "three", "5"]);
      equal(code, 2, stderr);
      match(stderr, /each argument must be JSON/);
    });

    await server.stop();
    stopped = true;
    await t.step("a stopped server is reported as unavailable", async () => {
      const { code, stderr } = await client(["demo", "inference", "3", "5"]);
      equal(code, 1, stderr);
      match(stderr, new RegExp(`^unavailable: cannot reach a Stupid Modal server at ${server.address} `, "m"));
    });
  } finally {
    if (!stopped) await server.stop();
  }
});
