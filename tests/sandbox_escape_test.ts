/**
 * The sandbox escape suite: a function tries every way out we know of (files, network, the
 * server's environment, subprocesses, native code, system facts, permission prompts, imports,
 * other apps' code and other calls' data, prototype keys in its arguments, a blocked event loop).
 * Each must be denied with a clear error while the server keeps serving. Prints one row per attempt.
 *
 * Also covered elsewhere: reading the server's token and a busy loop on a one-input executor
 * (hostile_functions_test.ts), grants beyond the operator's (grants_test.ts), sneaky static imports
 * (registration_safety_test.ts).
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, RemoteError, StupidModalError } from "../mod.ts";
import { appVersion } from "../src/wire/app_version.ts";
import { decodeValue, encodeValue } from "../src/wire/codec.ts";
import type { FunctionSpec, RegisterAppRequest } from "../src/wire/proto.ts";
import { executorsOf, startTestServer, type TestServer, useServer } from "./helpers/test_server.ts";
import {
  app,
  attempt,
  blockShared,
  grantedNet,
  grantedRead,
  grantedWrite,
  peek,
  ping,
  probe,
  remoteLines,
  stash,
} from "./fixtures/escape_app.ts";
import { nextLine } from "./helpers/remote_lines.ts";
import { app as hostileApp, spin } from "./fixtures/hostile_app.ts";

const repoRoot = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** One row of the printed table. */
interface Row {
  attempt: string;
  target: string;
  result: string;
}

const rows: Row[] = [];
/** Long paths shown by name in the table. */
const abbreviations: [string, string][] = [];

function abbreviate(text: string): string {
  for (const [long, short] of abbreviations) text = text.replaceAll(long, short);
  return text;
}

/** What a denied attempt must look like: the remote error's name and a pattern for its message. */
interface Denial {
  name?: string;
  code?: Code;
  message: RegExp;
}

/** Runs `body`, which must fail as `denial` says; records the row; then checks the server still serves. */
async function denied(what: string, target: string, denial: Denial, body: () => Promise<unknown>): Promise<void> {
  const outcome = await body().then((value) => ({ value }), (error: unknown) => ({ error }));
  if (!("error" in outcome)) {
    rows.push({ attempt: what, target, result: `GOT THROUGH: ${Deno.inspect(outcome.value).slice(0, 80)}` });
    throw new Error(`${what} (${target}) got through: ${Deno.inspect(outcome.value)}`);
  }
  const error = outcome.error as StupidModalError;
  ok(error instanceof StupidModalError, `${what}: not an SDK error: ${Deno.inspect(error)}`);
  const name = error instanceof RemoteError ? error.remoteName : Code[error.code];
  rows.push({ attempt: what, target, result: `denied: ${name}: ${firstLine(error.message)}` });
  if (denial.name) equal(name, denial.name, `${what}: ${error.message}`);
  if (denial.code !== undefined) equal(error.code, denial.code, `${what}: ${error.message}`);
  match(error.message, denial.message, what);
  equal(await ping.remote(), "pong", `the server stopped serving after: ${what}`);
}

/** Records an attempt that must succeed (a control: the grants work, so denials mean something). */
async function allowed(what: string, target: string, body: () => Promise<unknown>, check: (value: unknown) => void) {
  const value = await body();
  check(value);
  rows.push({ attempt: what, target, result: `allowed (control): ${Deno.inspect(value).slice(0, 60)}` });
}

const notCapable = (pattern: RegExp): Denial => ({ name: "NotCapable", message: pattern });

function firstLine(text: string): string {
  const line = abbreviate(text.split("\n")[0]);
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

function printTable(): void {
  for (const row of rows) Object.assign(row, { target: abbreviate(row.target), result: abbreviate(row.result) });
  const widths = [
    Math.max(...rows.map((row) => row.attempt.length), 7),
    Math.max(...rows.map((row) => row.target.length), 6),
  ];
  const line = (a: string, b: string, c: string) => `${a.padEnd(widths[0])}  ${b.padEnd(widths[1])}  ${c}`;
  console.log(`\n${line("attempt", "target", "result")}`);
  console.log(line("-".repeat(widths[0]), "-".repeat(widths[1]), "-".repeat(6)));
  for (const row of rows) console.log(line(row.attempt, row.target, row.result).trimEnd());
  console.log(`${rows.length} attempts\n`);
}

/** Registers a small app of another name by hand, whose stored files the fixture then tries to reach. */
async function registerVictim(server: TestServer): Promise<string> {
  const client = new Client({ server: server.address, token: server.token });
  try {
    const source = 'import { App } from "stupid-modal";\nexport const secret = "victim-secret";\n' +
      'export const f = new App("escape-victim").function({}, function f() { return secret; });\n';
    const files = [{ path: "victim.ts", content: new TextEncoder().encode(source) }];
    const functions: FunctionSpec[] = [{
      name: "f",
      module: "victim.ts",
      permissions: { read: [], write: [], net: [], env: [] },
      timeout_ms: 0,
      memory_mb: 0,
    }];
    const request: RegisterAppRequest = {
      app_name: "escape-victim",
      version: await appVersion("escape-victim", files, functions),
      files,
      functions,
      source_root: "file:///home/victim/",
    };
    return await client.registerApp(request);
  } finally {
    client.close();
  }
}

/** A registration of `source` as the module of one function, through a plain client. */
async function registerSource(server: TestServer, source: string): Promise<string> {
  const client = new Client({ server: server.address, token: server.token });
  try {
    const files = [{ path: "main.ts", content: new TextEncoder().encode(source) }];
    const functions: FunctionSpec[] = [{
      name: "f",
      module: "main.ts",
      permissions: { read: [], write: [], net: [], env: [] },
      timeout_ms: 0,
      memory_mb: 0,
    }];
    return await client.registerApp({
      app_name: "escape-npm",
      version: await appVersion("escape-npm", files, functions),
      files,
      functions,
      source_root: "file:///home/user/",
    });
  } finally {
    client.close();
  }
}

Deno.test("sandbox escapes are denied with clear errors, and the server keeps serving", async (t) => {
  await Deno.mkdir(grantedWrite, { recursive: true });
  const server = await startTestServer([
    `--grant-read=${grantedRead}`,
    `--grant-write=${grantedWrite}`,
    `--grant-net=${grantedNet}`,
  ]);
  useServer(server);
  const outside = await Deno.makeTempDir({ prefix: "stupid-modal-escape-outside-" });
  try {
    const victim = await registerVictim(server);
    abbreviations.push([victim, "<victim>"], [server.dataDir, "<data-dir>"], [repoRoot, "<repo>"], [outside, "<tmp>"]);
    const victimFile = `${server.dataDir}/apps/${victim}/files/victim.ts`;
    ok((await Deno.readTextFile(victimFile)).includes("victim-secret"), "the victim's code is stored there");
    equal(await ping.remote(), "pong");

    await t.step("files outside the grants", async () => {
      const granted = `${repoRoot}/${grantedRead}/greeting.ts`;
      await allowed("read a granted file", granted, () => attempt.remote("read a granted file", granted), (text) => {
        ok(String(text).includes("greeting"));
      });
      const written = `${grantedWrite}/control.txt`;
      await allowed("write a granted file", written, () => attempt.remote("write a granted file", written), (v) => {
        equal(v, "written");
      });
      const reads: [string, string][] = [
        ["/etc/passwd", "/etc/passwd"],
        ["the server's token", `${server.dataDir}/token`],
        ["the server's store", `${server.dataDir}/store.db`],
        ["another app's stored code", victimFile],
        ["the server's code", `${repoRoot}/src/server/auth.ts`],
        ["out of the granted folder by ..", `${repoRoot}/${grantedRead}/../escape_app.ts`],
      ];
      for (const [what, path] of reads) {
        await denied(
          `read ${what}`,
          path,
          notCapable(/^Requires read access to ".*": the function did not ask/),
          () => attempt.remote("read a file", path),
        );
      }
      await denied(
        "list the server's apps",
        `${server.dataDir}/apps`,
        notCapable(/Requires read access/),
        () => attempt.remote("list a folder", `${server.dataDir}/apps`),
      );
      await denied(
        "read with node:fs",
        "/etc/passwd",
        notCapable(/Requires read access to "\/etc\/passwd"/),
        () => attempt.remote("read with node:fs", "/etc/passwd"),
      );
      const outsideFile = `${outside}/escaped.txt`;
      await denied(
        "write outside the grant",
        outsideFile,
        notCapable(/^Requires write access to/),
        () => attempt.remote("write a file", outsideFile),
      );
      await denied(
        "write into the server's data dir",
        `${server.dataDir}/apps/x`,
        notCapable(/^Requires write access to/),
        () => attempt.remote("write a file", `${server.dataDir}/apps/x`),
      );
      // The worker may write its socket's path (connecting needs that) and can learn it from its
      // init message; the socket's folder is gone once connected, so nothing can be written there.
      await denied(
        "write where its executor's socket was",
        "<data-dir>/sockets/…",
        { name: "NotFound", message: /No such file or directory/ },
        () => attempt.remote("write where the executor's socket was", ""),
      );
      await denied(
        "symlink from the granted folder",
        "/etc/passwd",
        notCapable(/symlink\(\) requires unscoped/),
        () => attempt.remote("symlink out of the granted folder", "/etc/passwd"),
      );
      await denied(
        "hard link from the granted folder",
        `${server.dataDir}/token`,
        notCapable(/Requires read access/),
        () => attempt.remote("hard link out of the granted folder", `${server.dataDir}/token`),
      );
      await rejects(Deno.stat(outsideFile), Deno.errors.NotFound, "nothing was written outside the grant");
      const files = await new Deno.Command("find", { args: [`${server.dataDir}/sockets`, "-type", "f"] }).output();
      equal(new TextDecoder().decode(files.stdout), "", "no file was written among the sockets");
    });

    await t.step("network outside the grants", async () => {
      // The granted address is reached: nothing listens there, so the connection is refused, not denied.
      await allowed(
        "connect to the granted address",
        grantedNet,
        () => attempt.remote("connect over TCP", grantedNet).catch((err: RemoteError) => err.remoteName),
        (name) => equal(name, "ConnectionRefused"),
      );
      await denied(
        "TCP to the server's gRPC port",
        server.address,
        notCapable(/^Requires net access to/),
        () => attempt.remote("connect over TCP", server.address),
      );
      await denied(
        "fetch the server",
        `http://${server.address}/`,
        notCapable(/^Requires net access to/),
        () => attempt.remote("fetch", `http://${server.address}/`),
      );
      await denied(
        "fetch the internet",
        "https://example.com/",
        notCapable(/^Requires net access to/),
        () => attempt.remote("fetch", "https://example.com/"),
      );
      const socket = `${server.dataDir}/sockets/any.sock`;
      await denied(
        "an executor's Unix socket",
        socket,
        notCapable(/Requires (read|write|net) access/),
        () => attempt.remote("connect to a Unix socket", socket),
      );
    });

    await t.step("the server's environment", async () => {
      // The server runs with STUPID_MODAL_TOKEN set; a function that asked for no env sees none of it.
      await denied(
        "Deno.env.get",
        "STUPID_MODAL_TOKEN",
        notCapable(/^Requires env access to "STUPID_MODAL_TOKEN"/),
        () => attempt.remote("read an env variable", "STUPID_MODAL_TOKEN"),
      );
      await denied(
        "Deno.env.toObject",
        "",
        notCapable(/^Requires env access/),
        () => attempt.remote("list the environment", ""),
      );
      await denied(
        "node:process env",
        "STUPID_MODAL_TOKEN",
        notCapable(/^Requires env access/),
        () => attempt.remote("read process.env", "STUPID_MODAL_TOKEN"),
      );
    });

    await t.step("subprocesses, native code and system facts", async () => {
      const never = (kind: string) => notCapable(new RegExp(`^Requires ${kind} access.*functions never get ${kind}`));
      await denied("Deno.Command", "id", never("run"), () => attempt.remote("run a subprocess", "id"));
      await denied(
        "node:child_process execSync",
        "id",
        notCapable(/^Requires (run|env) access/),
        () => attempt.remote("run with node:child_process", "id"),
      );
      await denied(
        "signal the server",
        String(server.process.pid),
        never("run"),
        () => attempt.remote("signal a process", String(server.process.pid)),
      );
      await denied(
        "Deno.dlopen",
        "libc.so.6",
        never("ffi"),
        () => attempt.remote("load a native library", "libc.so.6"),
      );
      for (const call of ["hostname", "osRelease", "networkInterfaces", "systemMemoryInfo", "loadavg", "uid"]) {
        await denied(`Deno.${call}`, "", never("sys"), () => attempt.remote(`Deno.${call}`, ""));
      }
    });

    await t.step("asking for more permissions", async () => {
      await denied(
        "Deno.permissions.request read",
        "/etc/passwd",
        { message: /answered "denied"/ },
        () => attempt.remote("Deno.permissions.request", "/etc/passwd"),
      );
      await denied(
        "Deno.permissions.request run",
        "",
        { message: /answered "denied"/ },
        () => attempt.remote("request run permission", ""),
      );
      await denied(
        "a Worker with read: true",
        "/etc/passwd",
        notCapable(/Can't escalate parent thread permissions/),
        () => attempt.remote("start a Worker with more permissions", "/etc/passwd"),
      );
    });

    await t.step("imports", async () => {
      await denied(
        "import https://…",
        "https://deno.land/std/version.ts",
        { name: "TypeError", message: /^Requires import access to "deno\.land:443": functions never get import/ },
        () => attempt.remote("import a module by URL", "https://deno.land/std/version.ts"),
      );
      const victimUrl = `file://${victimFile}`;
      await denied(
        "import another app's code",
        victimUrl,
        { message: /^Requires read access to ".*victim\.ts"/ },
        () => attempt.remote("import a module by URL", victimUrl),
      );
      const tokenUrl = `file://${server.dataDir}/token`;
      await denied(
        "import the data dir's token",
        tokenUrl,
        { message: /^Requires read access/ },
        () => attempt.remote("import JSON by URL", tokenUrl),
      );
      const serverCode = `file://${repoRoot}/src/server/auth.ts`;
      await denied(
        "import the server's code",
        serverCode,
        { message: /^Requires read access/ },
        () => attempt.remote("import a module by URL", serverCode),
      );
      const dataUrl = 'data:application/javascript,export default Deno.readTextFileSync("/etc/passwd")';
      await denied(
        "import a data: URL that reads",
        "data:…readTextFileSync(/etc/passwd)",
        notCapable(/read access/),
        () => attempt.remote("import a module by URL", dataUrl),
      );
      await denied(
        "import npm: computed at run time",
        "npm:left-pad@1.3.0",
        { name: "TypeError", message: /not found in cache.*--cached-only/s },
        () => attempt.remote("import an npm package at run time", "npm:left-pad@1.3.0"),
      );
      await denied(
        "register an app importing npm:left-pad",
        "npm:left-pad@1.3.0 (static import)",
        { code: Code.PERMISSION_DENIED, message: /npm package "left-pad", which this server does not allow/ },
        () =>
          registerSource(
            server,
            'import leftPad from "npm:left-pad@1.3.0";\nimport { App } from "stupid-modal";\n' +
              'export const f = new App("escape-npm").function({}, function f() { return leftPad("x", 3); });\n',
          ),
      );
    });

    await t.step("another call's data", async () => {
      equal(await stash.remote("caller A's secret"), "stashed");
      rows.push({
        attempt: "another function reads a global",
        target: "globalThis.stashed",
        result: `denied: ${Deno.inspect(await peek.remote())} (separate executor per function)`,
      });
      equal(await peek.remote(), null);
      await denied(
        "read spawned calls' inputs",
        `${server.dataDir}/store.db-wal`,
        notCapable(/Requires read access/),
        () => attempt.remote("read a file", `${server.dataDir}/store.db-wal`),
      );
    });

    await t.step("__proto__ and constructor keys in CBOR arguments", async () => {
      const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
      const bytes = encodeValue([hostile]);
      ok(new TextDecoder().decode(bytes).includes("__proto__"), "the key travels as __proto__");
      // The server's codec (the same module) does not pollute this process either.
      const decoded = decodeValue(bytes, "arguments") as Record<string, unknown>[];
      equal(({} as Record<string, unknown>).polluted, undefined);
      equal(Object.getPrototypeOf(decoded[0]), Object.prototype);
      const first = await probe.remote(hostile);
      equal(first.polluted, null, "the worker's objects were polluted");
      deepStrictEqual(first.objectPrototypeKeys, []);
      ok(first.plainPrototype, "the argument kept a plain prototype");
      ok(!first.ownKeys.includes("__proto__"), `own keys ${first.ownKeys}`);
      rows.push({
        attempt: "__proto__/constructor keys in arguments",
        target: "probe({__proto__: {polluted}})",
        result: `no pollution in the worker; keys arrived as ${JSON.stringify(first.ownKeys)}`,
      });
      // A later call on the same executor (maxWorkers: 1) finds Object.prototype untouched.
      const later = await probe.remote({ benign: 1 });
      equal(later.polluted, null);
      rows.push({ attempt: "a later call, same executor", target: "({}).polluted", result: "undefined: not polluted" });

      // Through the web endpoint the server itself parses the JSON and decodes the result.
      await app.deploy();
      const web = /^web endpoints on (http:\/\/[^/]+)\//.exec(await server.waitForLine(/^web endpoints on /))![1];
      const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
      const response = await fetch(`${web}/apps/escape-fixture/probe`, {
        method: "POST",
        headers,
        body: '[{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}]',
      });
      equal(response.status, 200);
      const answer = await response.json();
      equal(answer.polluted, null);
      const result = await fetch(`${web}/apps/escape-fixture/protoResult`, { method: "POST", headers, body: "[]" });
      equal(result.status, 200);
      const shown = await result.text();
      match(shown, /"ok":1/);
      rows.push({ attempt: "__proto__ in a web body and result", target: "POST probe, protoResult", result: shown });
      // The server still answers web and gRPC calls with plain objects.
      const again = await fetch(`${web}/apps/escape-fixture/probe`, { method: "POST", headers, body: "[{}]" });
      deepStrictEqual(await again.json(), {
        ownKeys: [],
        plainPrototype: true,
        polluted: null,
        objectPrototypeKeys: [],
      });
    });

    await t.step("a function that blocks its executor's event loop", async () => {
      // One input per executor: hostile_app's spin, past its 1 s timeout.
      const before = await executorsOf(server.dataDir);
      const alone = spin.remote(true);
      for (let i = 0; i < 3; i++) equal(await ping.remote(), "pong");
      await rejects(alone, (err: StupidModalError) => err.code === Code.DEADLINE_EXCEEDED);
      rows.push({
        attempt: "block the event loop (maxInputs 1)",
        target: "while (true) {} past timeoutMs 1000",
        result: "DEADLINE_EXCEEDED, executor killed; other functions served meanwhile",
      });

      // Four inputs per executor: the blocker takes its neighbour down with it, nothing else. The
      // pool cannot tell which input blocks: the first deadline to pass (the blocker's, sent
      // first) kills the executor, and the other input on it fails as replaced.
      const spinning = nextLine(remoteLines, "spinning");
      const blocker = blockShared.remote(true);
      const neighbour = blockShared.remote(false);
      neighbour.catch(() => {});
      await spinning;
      const busy = (await executorsOf(server.dataDir)).filter((pid) => !before.includes(pid));
      for (let i = 0; i < 3; i++) equal(await ping.remote(), "pong");
      await rejects(blocker, (err: StupidModalError) => {
        equal(err.code, Code.DEADLINE_EXCEEDED);
        match(err.message, /timeout of 1000 ms/);
        return true;
      });
      await rejects(neighbour, (err: StupidModalError) => {
        equal(err.code, Code.INTERNAL);
        match(err.message, /its executor was replaced \(another input on it: the call exceeded its timeout/);
        return true;
      });
      const after = await executorsOf(server.dataDir);
      ok(busy.length > 0 && busy.every((pid) => !after.includes(pid)), "the blocked executor was killed");
      equal(await blockShared.remote(false), "neighbour done", "the pool replaced it");
      rows.push({
        attempt: "block the event loop (maxInputs 4)",
        target: "while (true) {} with a neighbour",
        result: "DEADLINE_EXCEEDED; neighbour INTERNAL (executor replaced); other functions served",
      });
    });
  } finally {
    printTable();
    await app.close();
    await hostileApp.close();
    await server.stop();
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(grantedWrite, { recursive: true }).catch(() => {});
  }
});
