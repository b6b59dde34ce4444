/**
 * Faults injected into a running system: executors killed (SIGKILL) or frozen (SIGSTOP) mid-call
 * and while idle, the server killed mid-map, a caller killed mid-map, a full or read-only disk
 * under the store. Each affected call fails clearly (or retries) within its deadline, the rest go on,
 * and nothing stored is lost.
 *
 * Spawned calls resuming after the server is killed are in persistence_test.ts.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, FunctionCall, type StupidModalError } from "../mod.ts";
import { executorsOf, startTestServer, type TestServer, useServer } from "./helpers/test_server.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { app, fragile, remoteLines, slow, steady, sturdy } from "./fixtures/faults_app.ts";
import { nextLine } from "./helpers/remote_lines.ts";
import { servedLines, succeeded } from "./helpers/served_inputs.ts";

const callerPath = new URL("./fixtures/faults_caller.ts", import.meta.url).pathname;

/** Resolves with the pid in the remote line "started TAG PID" once it arrives. */
async function started(tag: string): Promise<number> {
  const line = await nextLine(remoteLines, new RegExp(`^started ${tag} \\d+$`));
  return Number(line.split(" ").at(-1));
}

/** Fails the test instead of hanging it when `promise` takes longer than `seconds` (a bound, not a measurement). */
async function within<T>(seconds: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${seconds} s (a hang)`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits, bounded, until `condition` holds (process-table checks have nothing to wait on). */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether a process exists and is not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  const output = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" }).output();
  return output.success && !new TextDecoder().decode(output.stdout).startsWith("Z");
}

Deno.test("an executor killed or frozen mid-call fails or retries its call; the pool recovers; others go on", async (t) => {
  const server = await startTestServer();
  useServer(server);
  try {
    equal(await steady.remote("warm-up", 0), "done warm-up");

    await t.step("SIGKILL mid-call: an error at once without retries, success with them", async () => {
      const alongside = steady.remote("alongside-kill", 1_500);
      alongside.catch(() => {}); // awaited below, not unhandled meanwhile
      const neighbour = await started("alongside-kill");
      const lost = fragile.remote("killed", 2_000);
      lost.catch(() => {}); // awaited below, not unhandled meanwhile
      const victim = await started("killed");
      Deno.kill(victim, "SIGKILL");
      // The failure comes from the process's death, not from the call's 3 s timeout.
      await rejects(lost, (err: StupidModalError) => {
        equal(err.code, Code.INTERNAL, err.message);
        match(err.message, /executor exited unexpectedly \(status 137, killed by SIGKILL\)/);
        console.log(`executor SIGKILLed mid-call: ${Code[err.code]}: ${err.message}`);
        return true;
      });
      const retried = sturdy.remote("retried", 300);
      retried.catch(() => {}); // awaited below, not unhandled meanwhile
      const first = await started("retried");
      const second = started("retried");
      Deno.kill(first, "SIGKILL");
      const replacement = await second;
      ok(replacement !== first, "the retry ran on a new executor");
      equal(await retried, "done retried");
      await server.waitForLine(/call faults-fixture\.sturdy .* after 2 attempts ok$/);
      equal(await alongside, "done alongside-kill", "the other function's call was unaffected");
      ok(await isAlive(neighbour), "the other function's executor lives on");
      equal(await fragile.remote("after-kill", 0), "done after-kill", "the pool recovered");
    });

    await t.step(
      "SIGSTOP mid-call: the call's timeout still fires and the pool kills the frozen executor",
      async () => {
        const alongside = steady.remote("alongside-stop", 1_500);
        alongside.catch(() => {}); // awaited below, not unhandled meanwhile
        await started("alongside-stop");
        const frozen = fragile.remote("frozen", 500);
        frozen.catch(() => {}); // awaited below, not unhandled meanwhile
        const victim = await started("frozen");
        Deno.kill(victim, "SIGSTOP");
        await rejects(frozen, (err: StupidModalError) => {
          equal(err.code, Code.DEADLINE_EXCEEDED, err.message);
          match(err.message, /exceeded its timeout of 3000 ms/);
          console.log(`executor SIGSTOPped mid-call: ${Code[err.code]}: ${err.message}`);
          return true;
        });
        await eventually("the frozen executor is killed", async () => !(await isAlive(victim)));
        const retried = sturdy.remote("thawed", 300);
        retried.catch(() => {}); // awaited below, not unhandled meanwhile
        const first = await started("thawed");
        const second = started("thawed");
        Deno.kill(first, "SIGSTOP");
        ok((await second) !== first, "the retry ran on a new executor");
        equal(await retried, "done thawed");
        await eventually("the frozen executor is killed", async () => !(await isAlive(first)));
        equal(await alongside, "done alongside-stop");
        equal(await fragile.remote("after-stop", 0), "done after-stop", "the pool recovered");
      },
    );

    await t.step("SIGSTOP while idle: the next call times out on it, the one after runs", async () => {
      const warm = started("idle-check");
      equal(await fragile.remote("idle-check", 0), "done idle-check");
      const pid = await warm;
      Deno.kill(pid, "SIGSTOP");
      await rejects(fragile.remote("to-frozen", 0), (err: StupidModalError) => err.code === Code.DEADLINE_EXCEEDED);
      await eventually("the frozen executor is killed", async () => !(await isAlive(pid)));
      equal(await fragile.remote("after-idle-stop", 0), "done after-idle-stop");
    });

    await t.step("a frozen idle executor does not hold the server's shutdown", async () => {
      const warm = started("before-shutdown");
      equal(await fragile.remote("before-shutdown", 0), "done before-shutdown");
      const pid = await warm;
      Deno.kill(pid, "SIGSTOP");
      server.process.kill("SIGTERM");
      const status = await within(60, "SIGTERM with a frozen executor", server.process.status);
      equal(status.code, 0);
      deepStrictEqual(await executorsOf(server.dataDir), [], "the frozen executor was killed");
    });
  } finally {
    await app.close();
    await server.stop();
  }
});

Deno.test("the server killed mid-map: the caller gets UNAVAILABLE promptly and reconnects after a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-test-" });
  let server: TestServer = await startTestServer([], { dataDir });
  useServer(server);
  try {
    const seen: number[] = [];
    const mapping = (async () => {
      for await (const result of slow.map(Array.from({ length: 500 }, (_, i) => i))) {
        seen.push(result);
        if (seen.length === 5) server.process.kill("SIGKILL");
      }
    })();
    await within(
      20,
      "the map after the server died",
      rejects(mapping, (err: StupidModalError) => {
        equal(err.code, Code.UNAVAILABLE, err.message);
        console.log(`server killed mid-map: the caller got ${Code[err.code]}: ${err.message}`);
        return true;
      }),
    );
    ok(seen.length >= 5 && seen.length < 500, `${seen.length} results before the failure`);
    await server.process.status;

    // The same address again, the same data directory: the caller's App reconnects by itself.
    const port = server.address.split(":").at(-1);
    server = await startTestServer([`--port=${port}`], { dataDir, token: server.token });
    equal(await slow.remote(7), 7, "the same App works against the restarted server");
    const fresh = new Client({ server: server.address, token: server.token, onLog: () => {} });
    try {
      equal(await fresh.call({ appName: "faults-fixture", functionName: "slow" }, [8]), 8, "a new Client works");
    } finally {
      fresh.close();
    }
  } finally {
    await app.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a caller killed mid-map: the server cancels its inputs and frees the executors", async () => {
  const server = await startTestServer();
  const client = new Client({ server: server.address, token: server.token, onLog: () => {} });
  try {
    const caller = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", callerPath, "200"],
      env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = caller.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while ((printed.match(/^result /gm) ?? []).length < 4) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the caller ended before its map was under way: ${printed}`);
      printed += value;
    }
    equal((await executorsOf(server.dataDir)).length, 2, "both executors of slow are busy");
    caller.kill("SIGKILL");
    await caller.status;
    await reader.cancel().catch(() => {});

    // Both busy executors are killed, which happens with the queue dropped, in the same turn.
    await eventually("the executors are freed", async () => (await executorsOf(server.dataDir)).length === 0);
    // Failed inputs have a line each; the map's successes are counted in its summary lines.
    const cancelledLines = () =>
      servedLines(server.output, "faults-fixture.slow").calls.filter((line) =>
        line.endsWith("CANCELLED: cancelled by the caller")
      );
    const accounted = () => cancelledLines().length + succeeded(server.output, "faults-fixture.slow");
    // (ps stops listing an executor before the server has reaped it and failed its input.)
    await eventually("every input is accounted for", () => Promise.resolve(accounted() >= 200));
    const cancelled = cancelledLines().length;
    const finished = succeeded(server.output, "faults-fixture.slow");
    const lines = servedLines(server.output, "faults-fixture.slow");
    equal(accounted(), 200, `every input is accounted for once:\n${[...lines.calls, ...lines.summaries].join("\n")}`);
    ok(cancelled > 150, `${cancelled} of 200 inputs cancelled`);

    // Queued inputs never ran: a later call of the same function runs right after the ones that did.
    equal(await client.call({ appName: "faults-fixture", functionName: "slow" }, [-1]), -1);
    const starts = (await Array.fromAsync(client.appLogs({ app_name: "faults-fixture", tail: 1000 })))
      .map((entry) => entry.text).filter((text) => text.startsWith("start "));
    equal(starts.at(-1), "start -1");
    equal(accounted(), 201, "no input had a second outcome");
    // Those that finished, plus at most the two killed while running, plus the later call.
    ok(starts.length <= finished + 2 + 1, `${starts.length} inputs started, ${finished} finished`);
    console.log(
      `caller killed mid-map: ${finished} inputs finished, ${cancelled} cancelled, ${starts.length - 1} ran`,
    );
  } finally {
    client.close();
    await server.stop();
  }
});

/** Mounts a small tmpfs (root only); undefined when this machine does not allow it. */
async function mountTmpfs(megabytes: number): Promise<{ dir: string; remount: (options: string) => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "sm-full-" });
  const run = async (...args: string[]) => {
    const output = await new Deno.Command("mount", { args, stdout: "piped", stderr: "piped" }).output();
    if (!output.success) throw new Error(`mount ${args.join(" ")}: ${new TextDecoder().decode(output.stderr).trim()}`);
  };
  try {
    await run("-t", "tmpfs", "-o", `size=${megabytes}m,mode=0700`, "tmpfs", dir);
  } catch (err) {
    await Deno.remove(dir);
    throw err;
  }
  return { dir, remount: (options) => run("-o", `remount,${options}`, dir) };
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir] }).output();
  await Deno.remove(dir, { recursive: true });
}

/** Why the disk-full test cannot run here, or undefined when it can. */
const tmpfsUnavailable = await (async () => {
  if (Deno.build.os !== "linux") return "not Linux";
  try {
    const { dir } = await mountTmpfs(1);
    await unmount(dir);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
})();
if (tmpfsUnavailable) console.log(`NOT RUN: the disk-full test needs mount -t tmpfs (${tmpfsUnavailable})`);

/** Fills the file system at `dir` with one file until a write fails; returns the file's path. */
async function fill(dir: string): Promise<string> {
  const path = `${dir}/filler`;
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    while (true) await file.write(chunk);
  } catch (err) {
    ok(err instanceof Error && /No space left/.test(err.message), `filling stopped on ${err}`);
  } finally {
    file.close();
  }
  return path;
}

Deno.test({
  name: "a full or read-only disk under the store: clear errors, and nothing stored is lost",
  ignore: tmpfsUnavailable !== undefined,
  async fn() {
    const disk = await mountTmpfs(16);
    const dataDir = `${disk.dir}/data`;
    let server: TestServer | undefined;
    const target = { appName: "faults-fixture", functionName: "record" };
    /** Every spawned call stored so far, with its result. */
    const stored = new Map<string, string>();
    const assertStored = async (server: TestServer) => {
      const options = { server: server.address, token: server.token };
      for (const [id, result] of stored) equal(await FunctionCall.fromId(id, options).get(), result, id);
    };
    try {
      server = await startTestServer([], { dataDir });
      await deployFixture(server, "tests/fixtures/faults_app.ts");
      let client = new Client({ server: server.address, token: server.token, onLog: () => {} });
      for (const label of ["a", "b", "c"]) stored.set(await client.spawn(target, [label]), `recorded ${label}`);
      await assertStored(server);

      // Full: a spawn is refused rather than given an id that is not stored; plain calls still run.
      let filler = await fill(disk.dir);
      await rejects(client.spawn(target, ["while full"]), (err: StupidModalError) => {
        equal(err.code, Code.RESOURCE_EXHAUSTED, err.message);
        match(err.message, /could not be stored, so it was cancelled: the store could not write: .*full/);
        console.log(`spawn on a full disk: ${Code[err.code]}: ${err.message}`);
        return true;
      });
      ok(server.output.some((line) => /ERROR: the store could not write: .*full/.test(line)), "the failure is logged");
      equal(await client.call(target, ["not stored"]), "recorded not stored", "calls that need no disk still run");

      // Room again: the writes kept meanwhile reach the disk, and spawning works without a restart.
      await Deno.remove(filler);
      stored.set(await client.spawn(target, ["recovered"]), "recorded recovered");
      await assertStored(server);
      client.close();

      // Killed while the disk is full: a start on the full disk is refused clearly, or works; once
      // there is room, everything stored before is intact.
      filler = await fill(disk.dir);
      server.process.kill("SIGKILL");
      await server.process.status;
      const onFull = await startTestServer([], { dataDir, token: server.token }).then(
        async (started) => {
          await started.stop();
          return "started";
        },
        (err: Error) => err.message,
      );
      ok(onFull === "started" || /No space left on device/.test(onFull), onFull);
      ok(!/panic|Uncaught/.test(onFull), onFull);
      console.log(`start on a full data dir: ${onFull.split("\n").at(-1)}`);
      await Deno.remove(filler);
      server = await startTestServer([], { dataDir, token: server.token });
      await assertStored(server);
      client = new Client({ server: server.address, token: server.token, onLog: () => {} });
      stored.set(await client.spawn(target, ["after"]), "recorded after");
      await assertStored(server);
      client.close();

      // Read-only (remounting needs no file open for writing): the server refuses to start, saying why.
      await server.stop();
      await disk.remount("ro");
      const refused = await startTestServer([], { dataDir, token: server.token }).then(
        (started) => started.stop().then(() => "started"),
        (err: Error) => err.message,
      );
      match(refused, /server exited with 1 before listening/);
      match(refused, /The data directory cannot be written \(Read-only file system.*make it writable/);
      ok(!/panic|Uncaught/.test(refused), refused);
      console.log(`start on a read-only data dir: ${refused.split("\n").at(-1)}`);
      await disk.remount("rw");
      server = await startTestServer([], { dataDir, token: server.token });
      await assertStored(server);
    } finally {
      await server?.stop();
      await unmount(disk.dir);
    }
  },
});
