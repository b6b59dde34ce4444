/**
 * Schedules: deployed functions run on their period on the real server, each run a call in the
 * history with the trigger "schedule" and its output in the app's logs; a failing run does not stop
 * its schedule; a redeploy without the schedule, a stop, and a restart do what they say. Bad
 * schedules are refused at registration.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import type { AppVersion } from "../src/server/app_store.ts";
import { type ScheduledRun, Schedules } from "../src/server/schedules.ts";
import type { CallInfo, FunctionSpec } from "../src/wire/proto.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startTestServer, useServer } from "./helpers/test_server.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** The scheduled runs of one function, oldest first. */
async function runs(client: Client, appName: string, functionName: string): Promise<CallInfo[]> {
  const calls = await client.listCalls(appName, 10_000);
  return calls.filter((call) => call.function === functionName && call.trigger === "schedule").reverse();
}

/** Polls a real state until `ok` holds, failing with the last value after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

const succeeded = 1;
const failed = 2;

Deno.test("schedules on a real server", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "stupid-modal-schedule-" });
  const token = crypto.randomUUID();
  let server = await startTestServer([], { dataDir, token });
  let client = new Client({ server: server.address, token });
  const restart = async () => {
    client.close();
    await server.stop();
    server = await startTestServer([], { dataDir, token });
    client = new Client({ server: server.address, token });
  };
  const count = async (appName: string, functionName: string) => (await runs(client, appName, functionName)).length;
  /** Waits until the fence app's metronome has run `periods` more times: that much time has passed. */
  const fence = async (periods: number) => {
    const start = await count("schedule-fence", "metronome");
    await until(
      `the metronome ran ${periods} more times`,
      () => count("schedule-fence", "metronome"),
      (n) => n >= start + periods,
    );
  };

  try {
    await t.step("a bad schedule is INVALID_ARGUMENT at registration, naming the function", async () => {
      useServer(server);
      const bad = await import("./fixtures/schedule_bad_apps.ts");
      const cases = [
        [
          bad.impossibleCron,
          /function "leapless" has a schedule, but invalid cron "0 0 31 2 \*": it never fires: February has no day 31/,
        ],
        [
          bad.malformedCron,
          /function "fourFields" has a schedule, but invalid cron "\*\/5 \* \* \*": expected 5 fields/,
        ],
        [
          bad.outOfRange,
          /function "lateNight" has a schedule, but invalid cron "0 25 \* \* \*": hour field "25": 25 is out of range 0–23/,
        ],
        [bad.tooOften, /function "frantic" has a schedule, but its period of 10 ms is under the minimum of 100 ms/],
        [bad.scheduledClass, /function "Counter" has a schedule, but it is a class/],
        [bad.scheduledGenerator, /function "countdown" has a schedule, but it is a generator/],
      ] as const;
      for (const [app, message] of cases) {
        await rejects(app.deploy(), (err: StupidModalError) => {
          equal(err.code, Code.INVALID_ARGUMENT, err.message);
          match(err.message, message);
          return true;
        });
        await app.close();
      }
    });

    await t.step("deployed functions run on their period: in the history, the logs and the server log", async () => {
      await deployFixture(server, fixture("schedule_fence_app.ts"));
      await deployFixture(server, fixture("schedule_app.ts"));
      const ticks = await until(
        "tick succeeded 3 times",
        () => runs(client, "schedule-demo", "tick"),
        (calls) => calls.filter((call) => call.state === succeeded).length >= 3,
      );
      const booms = await until(
        "boom failed 3 times, and ran again after a failure",
        () => runs(client, "schedule-demo", "boom"),
        (calls) => {
          const failures = calls.filter((call) => call.state === failed);
          return failures.length >= 3 && calls.some((call) => call.created_at_ms > failures[0].finished_at_ms);
        },
      );
      equal(booms.some((call) => call.state === succeeded), false, "boom always fails");
      for (const call of [...ticks, ...booms]) {
        equal(call.inputs, 1);
        match(call.call_id, /^fc-/);
      }
      // Runs come one period apart, not in bursts: n runs take at least (n - 1) periods less one.
      const span = ticks.at(-1)!.created_at_ms - ticks[0].created_at_ms;
      ok(span >= (ticks.length - 2) * 300, `${ticks.length} runs within ${span} ms`);

      const logs = await Array.fromAsync(client.appLogs({ app_name: "schedule-demo", tail: 10_000 }));
      for (const call of ticks.filter((call) => call.state === succeeded)) {
        ok(
          logs.some((line) => line.call_id === call.call_id && !line.server && line.text === "tick ran on schedule"),
          `the output of ${call.call_id} is in the app's logs`,
        );
        await server.waitForLine(new RegExp(`^schedule schedule-demo\\.tick fired: ${call.call_id}`));
      }
      for (const call of booms.filter((call) => call.state === failed)) {
        ok(
          logs.some((line) => line.call_id === call.call_id && line.server && /boom on schedule/.test(line.text)),
          `the failure of ${call.call_id} is in the app's logs`,
        );
      }
    });

    await t.step("a redeploy without the schedules ends them", async () => {
      await deployFixture(server, fixture("schedule_app_v2.ts"));
      const ticks = await count("schedule-demo", "tick");
      const booms = await count("schedule-demo", "boom");
      await fence(4);
      equal(await count("schedule-demo", "tick"), ticks, "no tick run after the redeploy");
      equal(await count("schedule-demo", "boom"), booms, "no boom run after the redeploy");
      await server.waitForLine(/^schedule schedule-demo\.tick ended/);
    });

    await t.step("deployed again, then after a restart with the same data directory, schedules resume", async () => {
      await deployFixture(server, fixture("schedule_app.ts"));
      const before = await count("schedule-demo", "tick");
      await until("tick runs again", () => count("schedule-demo", "tick"), (n) => n >= before + 2);
      await restart();
      const ticks = await count("schedule-demo", "tick");
      const metronomes = await count("schedule-fence", "metronome");
      await until("tick runs after the restart", () => count("schedule-demo", "tick"), (n) => n >= ticks + 3);
      await until(
        "the metronome runs after the restart",
        () => count("schedule-fence", "metronome"),
        (n) => n >= metronomes + 3,
      );
      await server.waitForLine(/^schedule schedule-demo\.tick: every 300 ms, next at /);
    });

    await t.step("stopping the app ends its schedules, also after a restart", async () => {
      await client.stopApp("schedule-demo");
      const ticks = await count("schedule-demo", "tick");
      await fence(4);
      equal(await count("schedule-demo", "tick"), ticks, "no tick run after the stop");
      await restart();
      await fence(4);
      equal(await count("schedule-demo", "tick"), ticks, "no tick run after the restart either");
      equal(server.output.some((line) => line.startsWith("schedule schedule-demo.")), false, server.output.join("\n"));
    });
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the runner: overlapping runs are logged, a run that cannot start does not end the schedule", async () => {
  const spec = (name: string, schedule: FunctionSpec["schedule"]) =>
    ({
      name,
      module: "app.ts",
      permissions: { read: [], write: [], net: [], env: [] },
      timeout_ms: 0,
      memory_mb: 0,
      schedule,
    }) as FunctionSpec;
  const app = {
    name: "fake",
    version: "v1",
    functions: new Map([
      ["often", spec("often", { cron: "", every_ms: 100 })],
      ["hourly", spec("hourly", { cron: "30 * * * *", every_ms: 0 })],
      ["plain", spec("plain", null)],
    ]),
  } as AppVersion;
  let deployment = { version: "v1", stopped: false, deployedAt: Date.now() };
  const listeners: ((appName: string) => void)[] = [];
  const lines: string[] = [];
  let wanted: { count: number; done: () => void } | undefined;
  const log = (line: string) => {
    lines.push(line);
    if (wanted && lines.filter((line) => line.includes("fake.often")).length >= wanted.count) wanted.done();
  };
  const linesOfOften = (count: number) => new Promise<void>((done) => wanted = { count, done });
  let created = 0;
  const schedules = new Schedules({
    store: {
      deployment: () => deployment,
      get: () => app,
      runningDeployments: () => deployment.stopped ? [] : [app],
      onDeploymentChange: (listener) => listeners.push(listener),
    },
    spawned: {
      create(target, trigger): ScheduledRun {
        deepStrictEqual([target, trigger], [{ appName: "fake", version: "v1", function: "often" }, "schedule"]);
        // The first run cannot start; the others never finish.
        if (created++ === 0) throw new Error("the queue is full");
        return { id: `fc-${created}`, done: false, add() {}, closeInputs() {} };
      },
    },
    log,
  });
  try {
    schedules.start();
    const pending = schedules.pending();
    deepStrictEqual([...pending.keys()].sort(), ["fake.hourly", "fake.often"]);
    const hourly = new Date(pending.get("fake.hourly")!);
    equal(hourly.getUTCMinutes() * 60_000 + hourly.getUTCSeconds() * 1000 + hourly.getUTCMilliseconds(), 30 * 60_000);
    ok(hourly.getTime() > Date.now() && hourly.getTime() <= Date.now() + 3_600_000);
    // The set-up line, a refused start, then fired runs.
    await linesOfOften(4);
    const often = lines.filter((line) => line.includes("fake.often"));
    match(often[0], /^schedule fake\.often: every 100 ms, next at /);
    match(often[1], /^schedule fake\.often could not start a run: the queue is full$/);
    match(often[2], /^schedule fake\.often fired: fc-2$/);
    match(often[3], /^schedule fake\.often fired: fc-3 \(the previous run fc-2 is still running\)$/);

    deployment = { ...deployment, stopped: true };
    for (const listener of listeners) listener("fake");
    equal(schedules.pending().size, 0);
    ok(lines.includes("schedule fake.often ended"), lines.join("\n"));
    ok(lines.includes("schedule fake.hourly ended"), lines.join("\n"));
  } finally {
    schedules.stop();
  }
});
