/**
 * Starts Debian's `nats-server` with JetStream on a free loopback port and its own storage folder,
 * for the cluster tests and benchmark; `stop()` ends it and removes the folder.
 */
import { ensureDebianPackage } from "./debian_package.ts";
import { forEachLine } from "./process_lines.ts";

/** A running nats-server. */
export interface TestNats {
  url: string;
  process: Deno.ChildProcess;
  /** Where JetStream keeps its files. */
  storeDir: string;
  stop(): Promise<void>;
}

/** Starts nats-server -js on 127.0.0.1 and a free port; throws with its output if it will not start. */
export async function startNats(): Promise<TestNats> {
  await ensureDebianPackage("/usr/sbin/nats-server", "nats-server");
  const storeDir = await Deno.makeTempDir({ prefix: "stupid-modal-nats-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command("nats-server", {
      args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    await Deno.remove(storeDir, { recursive: true });
    throw new Error(`cannot start nats-server (apt-get install nats-server): ${(err as Error).message}`);
  }
  const output: string[] = [];
  const ready = Promise.withResolvers<void>();
  const onLine = (line: string) => {
    output.push(line);
    if (line.includes("Server is ready")) ready.resolve();
  };
  const collected = Promise.all([forEachLine(process.stdout, onLine), forEachLine(process.stderr, onLine)]);
  const exited = process.status;
  await Promise.race([
    ready.promise,
    exited.then((status) => {
      throw new Error(`nats-server exited with ${status.code}:\n${output.join("\n")}`);
    }),
  ]);
  return {
    url: `nats://127.0.0.1:${port}`,
    process,
    storeDir,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await exited;
      await collected;
      await Deno.remove(storeDir, { recursive: true });
    },
  };
}
