/** The command line (`cli.ts`), run as a subprocess against a real server. */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { lookup, type StupidModalError } from "../mod.ts";
import { forEachLine } from "./helpers/process_lines.ts";
import { startTestServer, type TestServer } from "./helpers/test_server.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const fixture = "tests/fixtures/cli_app.ts";
const cliPermissions = ["--no-prompt", "--allow-net", "--allow-read", "--allow-env"];

/** What one CLI run printed, and its exit code. */
interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of every CLI run, to check that a secret's value never shows. */
const everything: string[] = [];

function cliCommand(server: TestServer, args: string[], token = server.token, stdin = false): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...cliPermissions, "cli.ts", ...args],
    cwd: repoRoot,
    env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: token, NO_COLOR: "1" },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the CLI to its end. */
async function cli(
  server: TestServer,
  args: string[],
  options: { token?: string; stdin?: string } = {},
): Promise<CliResult> {
  const child = cliCommand(server, args, options.token, options.stdin !== undefined).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  everything.push(result.stdout, result.stderr);
  return result;
}

/** Asserts an exit code, showing what the CLI printed when it differs. */
function expectCode(result: CliResult, code: number): void {
  equal(
    result.code,
    code,
    `exit code ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

Deno.test("the command line", async (t) => {
  const server = await startTestServer();
  const options = { server: server.address, token: server.token };
  const tempDir = await Deno.makeTempDir({ prefix: "stupid-modal-cli-test-" });
  let follower: Deno.ChildProcess | undefined;
  try {
    await t.step("--help on the program and on every command exits 0", async () => {
      const commands = [
        [],
        ["deploy"],
        ["run"],
        ["apps"],
        ["apps", "list"],
        ["apps", "show"],
        ["apps", "stop"],
        ["logs"],
        ["calls", "list"],
        ["calls", "get"],
        ["calls", "cancel"],
        ["secret", "set"],
        ["secret", "list"],
        ["secret", "delete"],
      ];
      const results = await Promise.all(commands.map((words) => cli(server, [...words, "--help"])));
      results.forEach((result, i) => {
        expectCode(result, 0);
        match(result.stdout, new RegExp(`^Usage: stupid-modal ${commands[i].join(" ")}`, "m"));
      });
      match(results[0].stdout, /Exit codes:\n\s+0 {2}ok/);
      match(results[2].stdout, /--map INPUTS/);
    });

    await t.step("usage errors exit 2 with the command's help", async () => {
      const missing = await cli(server, ["apps", "show"]);
      expectCode(missing, 2);
      match(missing.stderr, /error: apps show takes APP/);
      match(missing.stderr, /Usage: stupid-modal apps show APP/);
      const unknownFlag = await cli(server, ["apps", "list", "--bogus"]);
      expectCode(unknownFlag, 2);
      match(unknownFlag.stderr, /Unknown option '--bogus'/);
      const unknownCommand = await cli(server, ["nonsense"]);
      expectCode(unknownCommand, 2);
      match(unknownCommand.stderr, /unknown command "nonsense"[\s\S]*Usage: stupid-modal COMMAND/);
      const notATarget = await cli(server, ["run", fixture]);
      expectCode(notATarget, 2);
      match(notATarget.stderr, /is not FILE::FUNCTION/);
    });

    let version = "";
    await t.step("deploy registers the app under its name; its main block does not run", async () => {
      const result = await cli(server, ["deploy", fixture, "--app", "cli-fixture", "--json"]);
      expectCode(result, 0);
      const { apps } = JSON.parse(result.stdout);
      equal(apps.length, 1);
      equal(apps[0].name, "cli-fixture");
      match(apps[0].version, /^[0-9a-f]{64}$/);
      version = apps[0].version;
      deepStrictEqual(
        apps[0].functions.map((fn: { name: string }) => fn.name),
        ["add", "double", "shout", "nap", "count", "odd"],
      );
      const again = await cli(server, ["deploy", fixture, "--app", "cli-fixture"]);
      expectCode(again, 0);
      match(
        again.stdout,
        new RegExp(`deployed cli-fixture version ${version.slice(0, 12)} \\(deploy #2, unchanged\\)`),
      );
      match(again.stdout, /functions: add, double, shout, nap, count, odd/);
    });

    await t.step(
      "a redeploy of changed code becomes the new version; a call in flight finishes on the old",
      async () => {
        const path = `${tempDir}/versioned.ts`;
        const source = (answer: string) =>
          `import { App } from "stupid-modal";\n` +
          `export const app = new App("cli-versioned");\n` +
          `export const which = app.function({}, async function which(ms: number) {\n` +
          `  console.log("started");\n` +
          `  await new Promise((resolve) => setTimeout(resolve, ms));\n` +
          `  return "${answer}";\n` +
          `});\n`;
        await Deno.writeTextFile(path, source("v1"));
        const first = await cli(server, ["deploy", path, "--json"]);
        expectCode(first, 0);
        const v1 = JSON.parse(first.stdout).apps[0].version;
        const started = Promise.withResolvers<void>();
        const which = await lookup<(ms: number) => string>("cli-versioned", "which", {
          ...options,
          onLog: (line) => line.text === "started" && started.resolve(),
        });
        try {
          const inFlight = which.remote(1_500);
          await started.promise;
          await Deno.writeTextFile(path, source("v2"));
          const second = await cli(server, ["deploy", path]);
          expectCode(second, 0);
          match(second.stdout, new RegExp(`\\(deploy #2, replacing ${v1.slice(0, 12)}\\)`));
          equal(await inFlight, "v1");
          equal(await which.remote(0), "v2");
        } finally {
          which.close();
        }
      },
    );

    await t.step("apps list and apps show give the app, its version and its functions", async () => {
      const list = await cli(server, ["apps", "list", "--json"]);
      expectCode(list, 0);
      const [app] = JSON.parse(list.stdout).apps;
      equal(app.name, "cli-fixture");
      equal(app.version, version);
      equal(app.state, "deployed");
      equal(app.deploy_count, 2);
      equal(app.functions.find((fn: { name: string }) => fn.name === "count").kind, "generator");
      const show = await cli(server, ["apps", "show", "cli-fixture", "--json"]);
      expectCode(show, 0);
      equal(JSON.parse(show.stdout).functions.find((fn: { name: string }) => fn.name === "nap").max_inputs, 50);
      const text = await cli(server, ["apps", "show", "cli-fixture"]);
      expectCode(text, 0);
      match(text.stdout, /^ {2}nap \(function\)\n.*permissions: none\n.*\n.*inputs per executor 50/m);
    });

    await t.step("run calls one function once; arguments parse as JSON where they can", async () => {
      const sum = await cli(server, ["run", `${fixture}::add`, "3", "5"]);
      expectCode(sum, 0);
      equal(sum.stdout, "8\n");
      const negative = await cli(server, ["run", `${fixture}::add`, "-1.5", "-2"]);
      expectCode(negative, 0);
      equal(negative.stdout, "-3.5\n");
      const shouted = await cli(server, ["run", `${fixture}::shout`, "hi"]);
      expectCode(shouted, 0);
      equal(shouted.stdout, '"HI"\n', "a string argument stays a string; stdout holds only the result");
      match(shouted.stderr, /\[remote shout\] shout: hi/);
      const counted = await cli(server, ["run", `${fixture}::count`, "3"]);
      expectCode(counted, 0);
      equal(counted.stdout, "0\n1\n2\n");
      const odd = await cli(server, ["run", `${fixture}::odd`]);
      expectCode(odd, 0);
      match(odd.stdout, /big: 1180591620717411303424n/);
      match(odd.stdout, /Map\(1\) \{ 1 => "one" \}/);
      match(odd.stdout, /Uint8Array\(3\) \[ 1, 2, 3 \]/);
    });

    await t.step("run: a function that throws exits 1 with its remote stack", async () => {
      const failed = await cli(server, ["run", `${fixture}::double`, "three"]);
      expectCode(failed, 1);
      equal(failed.stdout, "");
      match(failed.stderr, /error: TypeError: not a number: "three"\n\s+at double \(file:\/\/.*cli_app\.ts:\d+:\d+\)/);
      const unknown = await cli(server, ["run", `${fixture}::nothing`]);
      expectCode(unknown, 3);
      match(unknown.stderr, /defines no function "nothing" \(it defines: add, double/);
      const noFile = await cli(server, ["run", "tests/fixtures/no_such_file.ts::f"]);
      expectCode(noFile, 3);
    });

    await t.step("run --map prints one JSON line per input in order, and exits 1 when one failed", async () => {
      const inputs = `${tempDir}/inputs.jsonl`;
      await Deno.writeTextFile(inputs, '1\n[2]\n"x"\n\n4\n');
      const result = await cli(server, ["run", `${fixture}::double`, "--map", inputs]);
      expectCode(result, 1);
      const lines = jsonLines(result.stdout);
      deepStrictEqual(lines.map((line) => [line.input, line.ok, line.value]), [
        [0, true, 2],
        [1, true, 4],
        [2, false, undefined],
        [3, true, 8],
      ]);
      const error = lines[2].error as Record<string, string>;
      equal(error.name, "TypeError");
      equal(error.message, 'not a number: "x"');
      match(result.stderr, /double map: 4 inputs done in .*, 1 failed/, "a plain summary when not on a terminal");

      const fromStdin = await cli(server, ["run", `${fixture}::add`, "--map", "-"], {
        stdin: Array.from({ length: 50 }, (_, i) => JSON.stringify([i, 1000])).join("\n"),
      });
      expectCode(fromStdin, 0);
      deepStrictEqual(
        jsonLines(fromStdin.stdout).map((line) => line.value),
        Array.from({ length: 50 }, (_, i) => i + 1000),
      );

      const notJson = await cli(server, ["run", `${fixture}::add`, "--map", "-"], { stdin: "[1, 2]\nnot json\n" });
      expectCode(notJson, 2);
      match(notJson.stderr, /stdin line 2 is not JSON/);
    });

    await t.step("calls get shows a spawned call's state and result; calls list and cancel", async () => {
      const double = await lookup<(x: unknown) => number>("cli-fixture", "double", options);
      const nap = await lookup<(ms: number) => number>("cli-fixture", "nap", options);
      try {
        const good = await double.spawn(21);
        const bad = await double.spawn("y");
        const got = await cli(server, ["calls", "get", good.id, "--wait", "60000", "--json"]);
        expectCode(got, 0);
        const state = JSON.parse(got.stdout);
        equal(state.state, "succeeded");
        deepStrictEqual(state.outputs, [{ input: 0, ok: true, value: 42 }]);
        const text = await cli(server, ["calls", "get", good.id]);
        expectCode(text, 0);
        equal(text.stdout, `${good.id}: succeeded (1 of 1 inputs done)\n42\n`);

        const failed = await cli(server, ["calls", "get", bad.id, "--wait", "60000"]);
        expectCode(failed, 1);
        match(failed.stdout, /failed \(1 of 1 inputs done\)\nerror: TypeError: not a number: "y"\n\s+at double/);

        const long = await nap.spawn(600_000);
        const running = await cli(server, ["calls", "get", long.id, "--json"]);
        expectCode(running, 0);
        equal(JSON.parse(running.stdout).state, "running");
        const cancelled = await cli(server, ["calls", "cancel", long.id]);
        expectCode(cancelled, 0);
        const afterCancel = await cli(server, ["calls", "get", long.id, "--wait", "60000", "--json"]);
        expectCode(afterCancel, 1);
        equal(JSON.parse(afterCancel.stdout).state, "cancelled");

        const list = await cli(server, ["calls", "list", "--app", "cli-fixture", "--json"]);
        expectCode(list, 0);
        const calls = JSON.parse(list.stdout).calls as {
          id: string;
          function: string;
          trigger: string;
          state: string;
        }[];
        deepStrictEqual(
          calls.slice(0, 3).map((call) => [call.id, call.function, call.trigger, call.state]),
          [
            [long.id, "nap", "spawn", "cancelled"],
            [bad.id, "double", "spawn", "failed"],
            [good.id, "double", "spawn", "succeeded"],
          ],
        );
        const unknown = await cli(server, ["calls", "get", "fc-00000000-0000-0000-0000-000000000000"]);
        expectCode(unknown, 3);
      } finally {
        double.close();
        nap.close();
      }
    });

    await t.step("logs shows the function's lines; --follow gets new ones until Ctrl+C", async () => {
      const shout = await lookup<(text: string) => string>("cli-fixture", "shout", { ...options, onLog: () => {} });
      try {
        const marker = crypto.randomUUID();
        equal(await shout.remote(`before ${marker}`), `BEFORE ${marker.toUpperCase()}`);
        const logs = await cli(server, ["logs", "cli-fixture", "--json"]);
        expectCode(logs, 0);
        const entries = jsonLines(logs.stdout);
        ok(entries.some((entry) => entry.function === "shout" && entry.text === `shout: before ${marker}`));
        ok(entries.some((entry) => entry.function === "shout" && entry.server === true));
        const text = await cli(server, ["logs", "cli-fixture", "--tail", "5"]);
        expectCode(text, 0);
        match(text.stdout, new RegExp(`shout \\S+ shout: before ${marker}`));

        follower = cliCommand(server, ["logs", "cli-fixture", "--follow", "--tail", "1", "--json"]).spawn();
        const seen: string[] = [];
        const waiters: { pattern: RegExp; resolve: () => void }[] = [];
        const reading = forEachLine(follower.stdout, (line) => {
          seen.push(line);
          for (const waiter of waiters.splice(0)) {
            if (waiter.pattern.test(line)) waiter.resolve();
            else waiters.push(waiter);
          }
        });
        const stderr = new Response(follower.stderr).text();
        const waitFor = (pattern: RegExp) =>
          seen.some((line) => pattern.test(line))
            ? Promise.resolve()
            : new Promise<void>((resolve) => waiters.push({ pattern, resolve }));
        // The last line comes first: the server follows from the same moment on.
        await waitFor(/./);
        await shout.remote(`after ${marker}`);
        await waitFor(new RegExp(`"text":"shout: after ${marker}"`));
        follower.kill("SIGINT");
        const status = await follower.status;
        await reading;
        everything.push(...seen, await stderr);
        follower = undefined;
        equal(status.code, 0, "Ctrl+C ends --follow cleanly");
      } finally {
        shout.close();
      }
    });

    await t.step("secrets: set, list without values, used by a deployed function; values never printed", async () => {
      const value = `sk-${crypto.randomUUID()}`;
      const missing = await cli(server, ["deploy", fixture, "--app", "cli-fixture-secrets"]);
      expectCode(missing, 6);
      match(missing.stderr, /needs the secret "cli-fixture-secret", which does not exist/);

      const bare = await cli(server, ["secret", "set", "cli-fixture-secret", value]);
      expectCode(bare, 2);
      match(bare.stderr, /argument 2 is not KEY=VALUE/);

      const set = await cli(server, ["secret", "set", "cli-fixture-secret", `API_KEY=${value}`, "OTHER=x"]);
      expectCode(set, 0);
      equal(set.stdout, "secret cli-fixture-secret set (keys: API_KEY, OTHER)\n");
      const list = await cli(server, ["secret", "list", "--json"]);
      expectCode(list, 0);
      const [secret] = JSON.parse(list.stdout).secrets;
      deepStrictEqual([secret.name, secret.keys], ["cli-fixture-secret", ["API_KEY", "OTHER"]]);

      const deployed = await cli(server, ["deploy", fixture, "--app", "cli-fixture-secrets"]);
      expectCode(deployed, 0);
      const used = await cli(server, ["run", `${fixture}::secretive`]);
      expectCode(used, 0);
      deepStrictEqual(JSON.parse(used.stdout), { set: true, length: value.length });
      const logs = await cli(server, ["logs", "cli-fixture-secrets", "--json"]);
      expectCode(logs, 0);

      const deleted = await cli(server, ["secret", "delete", "no-such-secret"]);
      expectCode(deleted, 3);
      ok(!everything.some((output) => output.includes(value)), "a secret's value showed in the CLI's output");
    });

    await t.step("apps stop: calls by name then fail with a clear message; unknown apps exit 3", async () => {
      const stopped = await cli(server, ["apps", "stop", "cli-fixture"]);
      expectCode(stopped, 0);
      match(stopped.stdout, /stopped cli-fixture/);
      const list = await cli(server, ["apps", "list", "--json"]);
      equal(JSON.parse(list.stdout).apps.find((app: { name: string }) => app.name === "cli-fixture").state, "stopped");
      const add = await lookup<(a: number, b: number) => number>("cli-fixture", "add", options);
      try {
        await add.remote(1, 2).then(
          () => {
            throw new Error("a stopped app answered");
          },
          (err: StupidModalError) => match(err.message, /app "cli-fixture" is stopped; deploy it again to start it/),
        );
      } finally {
        add.close();
      }
      for (const args of [["apps", "show", "no-such-app"], ["apps", "stop", "no-such-app"], ["logs", "no-such-app"]]) {
        const result = await cli(server, args);
        expectCode(result, 3);
        match(result.stderr, /no-such-app" is not deployed/);
      }
    });

    await t.step("a wrong token exits 4; an unreachable server exits 5", async () => {
      const denied = await cli(server, ["apps", "list"], { token: "wrong" });
      expectCode(denied, 4);
      match(denied.stderr, /UNAUTHENTICATED/);
      const unreachable = await cli(server, ["apps", "list", "--server", "127.0.0.1:1"]);
      expectCode(unreachable, 5);
      match(unreachable.stderr, /cannot reach the server at 127\.0\.0\.1:1/);
    });
  } finally {
    if (follower) {
      follower.kill("SIGKILL");
      await follower.status;
    }
    await server.stop();
    await Deno.remove(tempDir, { recursive: true });
  }
});
