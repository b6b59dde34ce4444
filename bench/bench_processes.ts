/** Starts the processes the benchmark measures: our real server and the B1 echo server. */
import { executorsUsing } from "../tests/helpers/process_table.ts";
import { serverPermissions } from "../tests/helpers/test_server.ts";
import { type ListeningProcess, startListening } from "./listening_process.ts";

const serverPath = new URL("../server.ts", import.meta.url).pathname;
const echoServerPath = new URL("./baseline_echo_server.ts", import.meta.url).pathname;

/**
 * Starts `server.ts` on a free loopback port with its own data directory, its output (a line per
 * call) going to `outputFile`. The payload limit is above 64 MiB so the big-payload case fits with
 * its CBOR framing.
 *
 * @example
 * ```ts
 * const server = await startOurServer(repoRoot, dataDir, token, `${logDir}/server.log`);
 * ```
 */
export function startOurServer(
  repoRoot: string,
  dataDir: string,
  token: string,
  outputFile: string,
): Promise<ListeningProcess> {
  return startListening({
    args: [
      ...serverPermissions,
      serverPath,
      "--port=0",
      `--data-dir=${dataDir}`,
      "--max-payload-mb=80",
      // Shutdown waits for open sessions at most this long; the run closes its own first.
      "--grace-ms=2000",
    ],
    cwd: repoRoot,
    env: { STUPID_MODAL_TOKEN: token },
    outputFile,
  });
}

/**
 * Starts the B1 baseline: a bare grpc-js echo server on a free loopback port.
 *
 * @example
 * ```ts
 * const echoServer = await startEchoServer(repoRoot, `${logDir}/echo.log`);
 * ```
 */
export function startEchoServer(repoRoot: string, outputFile: string): Promise<ListeningProcess> {
  return startListening({
    args: ["--no-prompt", "--allow-read", "--allow-net", "--allow-env", "--allow-sys", echoServerPath],
    cwd: repoRoot,
    outputFile,
  });
}

/**
 * Kills executors of our server that outlived it (a server bug if any); returns their pids.
 *
 * @example
 * ```ts
 * const leftover = await killLeftoverExecutors(dataDir);
 * ```
 */
export async function killLeftoverExecutors(dataDir: string): Promise<number[]> {
  const pids = (await executorsUsing(dataDir)).map((process) => process.pid);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // It exited meanwhile.
    }
  }
  return pids;
}
