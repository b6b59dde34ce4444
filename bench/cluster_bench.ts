/**
 * Cluster measurements: map throughput over trivial inputs on one node without NATS, one node with
 * NATS and three nodes with NATS (on a 2-core machine the point is the NATS path's overhead, not
 * speed-up), and the time from a node's death (SIGKILL) to its inputs completing on the others.
 *
 * deno run --no-prompt --unstable-no-legacy-abort --allow-read --allow-write --allow-net --allow-env \
 *   --allow-run --allow-sys bench/cluster_bench.ts [--inputs 50000] [--ack-wait-ms 2000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { lookup } from "../mod.ts";
import { deployFixture } from "../tests/helpers/deploy.ts";
import { startNats, type TestNats } from "../tests/helpers/nats_server.ts";
import { startTestServer, type TestServer } from "../tests/helpers/test_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { inputs: { type: "string", default: "50000" }, "ack-wait-ms": { type: "string", default: "2000" } },
});
const inputs = Number(values.inputs);
const ackWaitMs = Number(values["ack-wait-ms"]);
const token = `bench-${crypto.randomUUID()}`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function node(host: string, nats?: TestNats, name?: string): Promise<TestServer> {
  const flags = [`--host=${host}`, "--web-port=off"];
  if (nats) flags.push(`--nats=${nats.url}`, `--node-name=${name}`, `--cluster-ack-wait-ms=${ackWaitMs}`);
  return startTestServer(flags, { token });
}

/** Inputs per second of a map over `count` trivial inputs through `servers`. */
async function mapRate(servers: TestServer[], count: number): Promise<number> {
  const square = await lookup<(x: number) => number>("cluster-fixture", "square", {
    server: servers.map((s) => s.address).join(","),
    token,
  });
  try {
    await Array.fromAsync(square.map(range(1_000))); // warm executors (and, on a cluster, every node's copy)
    const started = performance.now();
    const results = await Array.fromAsync(square.map(range(count)));
    const seconds = (performance.now() - started) / 1000;
    if (results.length !== count || results.some((y, x) => y !== x * x)) throw new Error("wrong results");
    return count / seconds;
  } finally {
    square.close();
  }
}

const rows: string[] = [];
const report = (line: string) => {
  rows.push(line);
  console.error(`cluster bench: ${line}`);
};

{
  const single = await node("127.0.0.2");
  try {
    await deployFixture(single, "tests/fixtures/cluster_app.ts");
    report(`one node without NATS: ${(await mapRate([single], inputs)).toFixed(0)} inputs/s over ${inputs}`);
  } finally {
    await single.stop();
  }
}

{
  const nats = await startNats();
  const first = await node("127.0.0.2", nats, "bench-a");
  const others: TestServer[] = [];
  try {
    await deployFixture(first, "tests/fixtures/cluster_app.ts");
    report(`one node with NATS: ${(await mapRate([first], inputs)).toFixed(0)} inputs/s over ${inputs}`);
    others.push(await node("127.0.0.3", nats, "bench-b"), await node("127.0.0.4", nats, "bench-c"));
    const all = [first, ...others];
    report(`three nodes with NATS: ${(await mapRate(all, inputs)).toFixed(0)} inputs/s over ${inputs}`);

    // A node dies mid-map: from SIGKILL to the last input completing elsewhere.
    const slow = await lookup<(x: number, ms: number) => number>("cluster-fixture", "slow", {
      server: first.address,
      token,
    });
    try {
      const victim = others[1];
      let killedAt = 0;
      const ran = () => victim.output.filter((line) => line.startsWith("call cluster-fixture.slow")).length;
      const before = ran();
      const mapping = Array.fromAsync(slow.map(range(400), range(400).map(() => 10)));
      await victim.waitForLine(
        { test: (line: string) => line.startsWith("call cluster-fixture.slow") && ran() >= before + 3 } as RegExp,
      );
      victim.process.kill("SIGKILL");
      killedAt = performance.now();
      const results = await mapping;
      if (results.length !== 400) throw new Error("inputs lost");
      report(
        `node killed mid-map: its inputs completed elsewhere ${(performance.now() - killedAt).toFixed(0)} ms after ` +
          `its death (--cluster-ack-wait-ms ${ackWaitMs})`,
      );
    } finally {
      slow.close();
    }
  } finally {
    await Promise.all([first, ...others].map((n) => n.stop().catch(() => {})));
    await nats.stop();
  }
}
console.log(rows.join("\n"));
