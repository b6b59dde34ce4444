/**
 * A `deno run` child that prints "listening on HOST:PORT" once it serves (our server, the B1 echo
 * server): started, its output drained so it never blocks on a full pipe, and stopped for sure.
 */
import { forEachLine } from "../tests/helpers/process_lines.ts";

/** A started child process that is listening. */
export interface ListeningProcess {
  /** host:port from its "listening on" line. */
  address: string;
  pid: number;
  /** The last lines it printed, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** What to run. */
export interface ListeningOptions {
  /** Arguments after `deno run`: flags, the script, then its own arguments. */
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** How long to wait for the "listening on" line. */
  startTimeoutMs?: number;
}

const maxTailLines = 40;

/**
 * Spawns the process and resolves once it prints its "listening on" line; kills it if it does not.
 *
 * @example
 * ```ts
 * const echo = await startListening({ args: ["--allow-net", "--allow-env", "bench/baseline_echo_server.ts"], cwd: "." });
 * await echo.stop();
 * ```
 */
export async function startListening(options: ListeningOptions): Promise<ListeningProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...options.args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const listening = Promise.withResolvers<string>();
  const onLine = (line: string) => {
    // The server prints one line per call: keep only a tail, never the whole run.
    lines.push(line);
    if (lines.length > maxTailLines) lines.shift();
    const match = /^listening on (\S+)/.exec(line);
    if (match) listening.resolve(match[1]);
  };
  const drained = Promise.all([forEachLine(child.stdout, onLine), forEachLine(child.stderr, onLine)]).catch(() => {});
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const tail = () => lines.join("\n");
  const stop = async (graceMs = 15_000) => {
    if (!exited) signal(child, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((done) => timer = setTimeout(done, graceMs));
    await Promise.race([status, late]);
    clearTimeout(timer);
    if (!exited) signal(child, "SIGKILL");
    await status;
    await drained;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const address = await Promise.race([
      listening.promise,
      status.then((s) => {
        throw new Error(`${options.args.join(" ")} exited with ${s.code} before listening:\n${tail()}`);
      }),
      new Promise<never>((_, fail) =>
        timer = setTimeout(
          () => fail(new Error(`${options.args.join(" ")} did not start listening:\n${tail()}`)),
          options.startTimeoutMs ?? 60_000,
        )
      ),
    ]);
    return { address, pid: child.pid, tail, stop };
  } catch (err) {
    await stop(2_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // It exited meanwhile.
  }
}
