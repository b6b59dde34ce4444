/**
 * Starts the real server (`server.ts`) as a subprocess on a free loopback port with its own data
 * directory, for end-to-end tests; `stop()` ends it and checks that no executor outlives it.
 */
import { deepStrictEqual } from "node:assert/strict";
import { forEachLine } from "./process_lines.ts";
import { executorsUsing } from "./process_table.ts";

const serverPath = new URL("../../server.ts", import.meta.url).pathname;
const repoRoot = new URL("../../", import.meta.url).pathname;

/** A running test server. */
export interface TestServer {
  address: string;
  token: string;
  dataDir: string;
  process: Deno.ChildProcess;
  /** Every line the server printed so far. */
  output: string[];
  /** Resolves when a line printed (from line `from` on) matches. */
  waitForLine(pattern: RegExp, from?: number): Promise<string>;
  /**
   * Resolves once `holds()` is true of the output, checked now and after every new line; rejects
   * with `what` if it is still false after `seconds` (the server logs a call just after its reply).
   */
  waitForOutput(holds: () => boolean, what: string, seconds?: number): Promise<void>;
  /** SIGTERM, wait for exit, check no executor process is left, remove the data directory. */
  stop(): Promise<void>;
}

/** The permissions `deno task server` runs with. */
export const serverPermissions = [
  "--no-prompt",
  // Deno.serve's request.signal then aborts only when a web client hangs up, without a warning.
  "--unstable-no-legacy-abort",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-ffi",
];

/** How to start a test server. */
export interface TestServerOptions {
  /** The token to set as STUPID_MODAL_TOKEN; random by default; null lets the server generate one. */
  token?: string | null;
  /** Reuse this data directory (and keep it at stop) instead of a fresh temporary one. */
  dataDir?: string;
  /** More environment variables for the server process (DENO_V8_FLAGS, say). */
  env?: Record<string, string>;
}

/** Starts a server with extra flags. */
export async function startTestServer(flags: string[] = [], options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "stupid-modal-test-" });
  const token = options.token === null ? "" : options.token ?? crypto.randomUUID();
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...serverPermissions,
      serverPath,
      "--port=0",
      `--data-dir=${dataDir}`,
      ...flags,
    ],
    cwd: repoRoot,
    // An empty STUPID_MODAL_TOKEN counts as unset, whatever this process has set.
    env: { ...options.env, STUPID_MODAL_TOKEN: token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const watchers = new Set<() => void>();
  const onLine = (line: string) => {
    output.push(line);
    for (const waiter of waiters.splice(0)) {
      if (waiter.pattern.test(line)) waiter.resolve(line);
      else waiters.push(waiter);
    }
    for (const watcher of [...watchers]) watcher();
  };
  const waitForOutput = (holds: () => boolean, what: string, seconds = 30) => {
    if (holds()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`the server's output did not show ${what} within ${seconds} s`));
      }, seconds * 1000);
      const watcher = () => {
        if (!holds()) return;
        watchers.delete(watcher);
        clearTimeout(timer);
        resolve();
      };
      watchers.add(watcher);
    });
  };
  const collected = Promise.all([forEachLine(process.stdout, onLine), forEachLine(process.stderr, onLine)]);
  const waitForLine = (pattern: RegExp, from = 0) => {
    const seen = output.slice(from).find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve) => waiters.push({ pattern, resolve }));
  };
  const exited = process.status;
  const listening = await Promise.race([
    waitForLine(/^listening on /),
    exited.then((status) => {
      throw new Error(`server exited with ${status.code} before listening:\n${output.join("\n")}`);
    }),
  ]);
  const address = listening.replace("listening on ", "").trim();
  const generated = output.find((line) => line.startsWith("token (written to "));
  return {
    address,
    token: token || (generated?.split(": ")[1] ?? ""),
    dataDir,
    process,
    output,
    waitForLine,
    waitForOutput,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await exited;
      await collected;
      deepStrictEqual(await executorsOf(dataDir), [], "executor processes outlived the server");
      if (!options.dataDir) await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Points apps in this process at a server (App reads these when it connects). */
export function useServer(server: TestServer): void {
  Deno.env.set("STUPID_MODAL_SERVER", server.address);
  Deno.env.set("STUPID_MODAL_TOKEN", server.token);
}

/** Pids of live executor processes of the server with this data directory (orphans included). */
export async function executorsOf(dataDir: string): Promise<number[]> {
  return (await executorsUsing(dataDir)).map((process) => process.pid);
}
