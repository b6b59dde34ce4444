/**
 * Schedules: which function specs may have one, and running the deployed version of each running
 * app's scheduled functions on time, each run a spawned call with the trigger "schedule".
 *
 * One timer per scheduled function, armed for its next fire time (at most a minute ahead, so a
 * long wait re-reads the wall clock and survives clock jumps and suspends). Fire times missed while
 * the server was down, or while the process was too busy to wake up, are skipped, never run in a
 * burst. A run starts even when the previous one is still going (logged). A failing run is a failed
 * call in the history; the schedule goes on.
 */
import { encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { FunctionSpec, ScheduleMessage } from "../wire/proto.ts";
import type { AppVersion } from "./app_store.ts";
import { type CronExpression, parseCron } from "./cron_expression.ts";

/** The shortest period an `everyMs` schedule may have. */
export const minimumPeriodMs = 100;
/** The longest a timer waits before it looks at the clock again. */
const maxTimerMs = 60_000;

/**
 * Throws INVALID_ARGUMENT, naming the function, when its schedule cannot run: not exactly one of
 * cron and every_ms, a bad or impossible cron expression, a period under 100 ms, or a schedule on
 * a class or a generator (which a schedule could not call or whose items nobody would read).
 *
 * @example
 * ```ts
 * for (const fn of request.functions) checkSchedule(fn);
 * ```
 */
export function checkSchedule(spec: FunctionSpec): void {
  const schedule = spec.schedule;
  if (!schedule) return;
  const invalid = (problem: string) =>
    new StupidModalError(Code.INVALID_ARGUMENT, `function "${spec.name}" has a schedule, but ${problem}`);
  if (spec.is_class) throw invalid("it is a class; only plain functions can be scheduled");
  if (spec.is_generator) throw invalid("it is a generator; only plain functions can be scheduled");
  if (Boolean(schedule.cron) === Boolean(schedule.every_ms)) {
    throw invalid("a schedule needs exactly one of cron and every_ms");
  }
  if (schedule.every_ms && schedule.every_ms < minimumPeriodMs) {
    throw invalid(`its period of ${schedule.every_ms} ms is under the minimum of ${minimumPeriodMs} ms`);
  }
  if (schedule.cron) {
    try {
      parseCron(schedule.cron);
    } catch (err) {
      throw invalid((err as Error).message);
    }
  }
}

/** When a schedule fires next, after a given time. */
interface Timetable {
  /** "every 300 ms" or `cron "0 * * * *"`. */
  description: string;
  /** The first fire time strictly after `now`. */
  nextAfter(now: number): number;
}

/**
 * A schedule's fire times. A period runs at the deployment time plus whole periods, so its phase
 * survives a server restart and its first run comes one period after deployment.
 */
function timetable(schedule: ScheduleMessage, deployedAt: number): Timetable {
  if (schedule.cron) {
    const cron: CronExpression = parseCron(schedule.cron);
    return { description: `cron "${cron.source}" (UTC)`, nextAfter: (now) => cron.next(now) };
  }
  const period = schedule.every_ms;
  return {
    description: `every ${period} ms`,
    nextAfter: (now) => deployedAt + (Math.floor((now - deployedAt) / period) + 1) * period,
  };
}

/** A started run, as the spawned calls give it. */
export interface ScheduledRun {
  readonly id: string;
  readonly done: boolean;
  add(args: Uint8Array): void;
  closeInputs(): void;
}

/** What the runner needs from the server. */
export interface SchedulesOptions {
  /** The app store: deployments and versions, and news of deploys and stops. */
  store: {
    deployment(appName: string): { version: string; stopped: boolean; deployedAt: number } | undefined;
    get(version: string): AppVersion | undefined;
    runningDeployments(): AppVersion[];
    onDeploymentChange(listener: (appName: string) => void): void;
  };
  /** Starts a run: a spawned call that appears in the call history. */
  spawned: {
    create(
      target: { appName: string; version: string; function: string },
      trigger: "schedule",
      caller: "schedule",
    ): ScheduledRun;
  };
  /** The server log. */
  log: (line: string) => void;
}

/** One scheduled function of a deployed version. */
interface Scheduled {
  appName: string;
  version: string;
  functionName: string;
  timetable: Timetable;
  nextAt: number;
  timer?: ReturnType<typeof setTimeout>;
  lastRun?: ScheduledRun;
}

/**
 * Runs the scheduled functions of running apps' deployed versions.
 *
 * @example
 * ```ts
 * const schedules = new Schedules({ store, spawned, log: console.log });
 * schedules.start();
 * // at shutdown:
 * schedules.stop();
 * ```
 */
export class Schedules {
  #options: SchedulesOptions;
  #byApp = new Map<string, Scheduled[]>();
  #running = false;
  #listening = false;

  constructor(options: SchedulesOptions) {
    this.#options = options;
  }

  /** Schedules every running deployment, then follows deploys (replace) and stops (cancel). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (!this.#listening) {
      this.#listening = true;
      this.#options.store.onDeploymentChange((appName) => {
        if (this.#running) this.#sync(appName);
      });
    }
    for (const app of this.#options.store.runningDeployments()) this.#sync(app.name);
  }

  /** Cancels every timer; runs already started go on. */
  stop(): void {
    this.#running = false;
    for (const scheduled of this.#byApp.values()) for (const entry of scheduled) clearTimeout(entry.timer);
    this.#byApp.clear();
  }

  /** The scheduled functions ("app.function") with their next fire time, for diagnostics. */
  pending(): Map<string, number> {
    const pending = new Map<string, number>();
    for (const entry of [...this.#byApp.values()].flat()) pending.set(label(entry), entry.nextAt);
    return pending;
  }

  /** Replaces an app's schedules with those of its deployed version, or none if it is stopped. */
  #sync(appName: string): void {
    const { store, log } = this.#options;
    const previous = this.#byApp.get(appName) ?? [];
    for (const entry of previous) clearTimeout(entry.timer);
    this.#byApp.delete(appName);
    const deployment = store.deployment(appName);
    const app = deployment && !deployment.stopped ? store.get(deployment.version) : undefined;
    const now = Date.now();
    const scheduled: Scheduled[] = [];
    for (const spec of app?.functions.values() ?? []) {
      if (!spec.schedule) continue;
      const entry = { appName, version: app!.version, functionName: spec.name, nextAt: 0 } as Scheduled;
      try {
        // Checked at registration; a version stored by an older server may still hold a bad one.
        checkSchedule(spec);
        entry.timetable = timetable(spec.schedule, deployment!.deployedAt);
        entry.nextAt = entry.timetable.nextAfter(now);
      } catch (err) {
        log(`schedule ${label(entry)} cannot run: ${(err as Error).message}`);
        continue;
      }
      log(`schedule ${label(entry)}: ${entry.timetable.description}, next at ${new Date(entry.nextAt).toISOString()}`);
      scheduled.push(entry);
      this.#arm(entry);
    }
    if (scheduled.length > 0) this.#byApp.set(appName, scheduled);
    const kept = new Set(scheduled.map((entry) => entry.functionName));
    for (const entry of previous) if (!kept.has(entry.functionName)) log(`schedule ${label(entry)} ended`);
  }

  #arm(entry: Scheduled): void {
    const wait = Math.max(0, entry.nextAt - Date.now());
    entry.timer = setTimeout(() => this.#wake(entry), Math.min(wait, maxTimerMs));
  }

  #wake(entry: Scheduled): void {
    const now = Date.now();
    if (now < entry.nextAt) return this.#arm(entry);
    try {
      // Strictly after now: fire times already past (a busy process, a suspend) are skipped.
      entry.nextAt = entry.timetable.nextAfter(now);
    } catch (err) {
      this.#options.log(`schedule ${label(entry)} stops: ${(err as Error).message}`);
      return;
    }
    this.#run(entry);
    this.#arm(entry);
  }

  #run(entry: Scheduled): void {
    const { spawned, log } = this.#options;
    const previous = entry.lastRun;
    let run: ScheduledRun;
    try {
      run = spawned.create(
        { appName: entry.appName, version: entry.version, function: entry.functionName },
        "schedule",
        "schedule",
      );
      run.add(encodeValue([]));
      run.closeInputs();
    } catch (err) {
      log(`schedule ${label(entry)} could not start a run: ${(err as Error).message}`);
      return;
    }
    entry.lastRun = run;
    const overlap = previous && !previous.done ? ` (the previous run ${previous.id} is still running)` : "";
    log(`schedule ${label(entry)} fired: ${run.id}${overlap}`);
  }
}

function label(entry: { appName: string; functionName: string }): string {
  return `${entry.appName}.${entry.functionName}`;
}
