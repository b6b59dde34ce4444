/**
 * A cluster of three nodes (127.0.0.2, .3 and .4) on one real nats-server with JetStream: a big map
 * shared by every node, nodes killed (SIGKILL), frozen (SIGSTOP), started and stopped mid-map,
 * deploys, spawned calls and secrets through one node seen through another.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, FunctionCall, lookup, type StupidModalError } from "../mod.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startNats, type TestNats } from "./helpers/nats_server.ts";
import { executorsOf, startTestServer, type TestServer } from "./helpers/test_server.ts";

const sum = (values: number[]) => values.reduce((x, y) => x + y, 0);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const token = `cluster-${crypto.randomUUID()}`;
/** Short, so inputs held by a frozen or killed node come back quickly. */
const ackWaitMs = 2_500;

/** Starts a node on `host`. */
function startNode(nats: TestNats, name: string, host: string): Promise<TestServer> {
  return startTestServer(
    [
      `--host=${host}`,
      `--nats=${nats.url}`,
      `--node-name=${name}`,
      `--cluster-ack-wait-ms=${ackWaitMs}`,
      "--web-port=off",
    ],
    { token },
  );
}

/** A pattern that matches the line on which `pattern` has matched `count` times in all (for waitForLine). */
function nth(pattern: RegExp, count: number): RegExp {
  let seen = 0;
  return { test: (line: string) => pattern.test(line) && ++seen >= count } as RegExp;
}

/** Lines of `node` matching `pattern`, from line `from` on. */
function count(node: TestServer, pattern: RegExp, from = 0): number {
  return node.output.slice(from).filter((line) => pattern.test(line)).length;
}

const ranSlow = /^call cluster-fixture\.slow /;
const ranSquare = /^call cluster-fixture\.square /;

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Deploys the fixture app through `node`, from a separate process, as a user would. */
/** A handle on a deployed function through `servers` (one node, or several comma-separated). */
function through<F extends (...args: never[]) => unknown>(
  servers: TestServer[],
  name: string,
  appName = "cluster-fixture",
) {
  return lookup<F>(appName, name, { server: servers.map((s) => s.address).join(","), token });
}

Deno.test("a cluster of three nodes on NATS JetStream", async (t) => {
  const nats = await startNats();
  const nodes: TestServer[] = [];
  const stopped = new Set<TestServer>();
  try {
    const [a, b, c] = await Promise.all([
      startNode(nats, "node-a", "127.0.0.2"),
      startNode(nats, "node-b", "127.0.0.3"),
      startNode(nats, "node-c", "127.0.0.4"),
    ]);
    nodes.push(a, b, c);

    await t.step("deploy through one node, call through another", async () => {
      await deployFixture(a, "tests/fixtures/cluster_app.ts");
      // Other nodes follow a deploy within milliseconds: wait for that, not for a while.
      await Promise.all([b, c].map((node) => node.waitForLine(/following the deploy of cluster-fixture/)));
      const square = await through<(x: number) => number>([b], "square");
      try {
        equal(await square.remote(7), 49);
      } finally {
        square.close();
      }
    });

    await t.step("a map of 10 000 inputs over the three nodes: exact results, every node ran a share", async () => {
      const marks = nodes.map((node) => node.output.length);
      const square = await through<(x: number) => number>([a, b, c], "square");
      try {
        deepStrictEqual(await Array.fromAsync(square.map(range(10_000))), range(10_000).map((x) => x * x));
      } finally {
        square.close();
      }
      const shares = () => nodes.map((node, i) => count(node, ranSquare, marks[i]));
      // At least once: an input runs again only if its node stalled past the ack wait. Each node
      // logs a line per input it ran; the last lines may still be on their way here.
      await eventually("every input's line", () => Promise.resolve(shares().reduce((x, y) => x + y) >= 10_000));
      console.log(`10 000 inputs ran on the nodes: ${shares().join(", ")}`);
      ok(shares().every((share) => share > 0), `every node ran some: ${shares()}`);
    });

    await t.step("SIGKILL a node mid-map: every input completes and each result comes once", async () => {
      const slow = await through<(x: number, ms: number) => number>([a], "slow");
      const mark = c.output.length;
      try {
        const mapping = Array.fromAsync(slow.map(range(300), range(300).map(() => 20)));
        await c.waitForLine(nth(ranSlow, count(c, ranSlow) + 3));
        c.process.kill("SIGKILL");
        const killedAt = performance.now();
        deepStrictEqual(await mapping, range(300));
        console.log(
          `node-c killed after running ${count(c, ranSlow, mark)} inputs; the map finished ` +
            `${(performance.now() - killedAt).toFixed(0)} ms later (ack wait ${ackWaitMs} ms)`,
        );
      } finally {
        slow.close();
      }
      await c.process.status;
      await eventually("node-c's executors exit", async () => (await executorsOf(c.dataDir)).length === 0);
      await c.stop();
      stopped.add(c);
    });

    await t.step(
      "SIGSTOP a node mid-map: its inputs go to the others after the ack wait; its late outcomes are dropped",
      async () => {
        const slow = await through<(x: number, ms: number) => number>([a], "slow");
        try {
          const mapping = Array.fromAsync(slow.map(range(300), range(300).map(() => 20)));
          await b.waitForLine(nth(ranSlow, count(b, ranSlow) + 3));
          b.process.kill("SIGSTOP");
          try {
            deepStrictEqual(await mapping, range(300), "every input once, while node-b is frozen");
          } finally {
            b.process.kill("SIGCONT");
          }
          const dropped = await b.waitForLine(/cluster: dropped \d+ duplicate outcomes? of cluster-fixture\.slow/);
          console.log(`node-b resumed: ${dropped}`);
        } finally {
          slow.close();
        }
      },
    );

    let d: TestServer | undefined;
    await t.step("a node started mid-map takes work", async () => {
      const slow = await through<(x: number, ms: number) => number>([a], "slow");
      let release = Promise.withResolvers<void>();
      async function* inputs() {
        for (let i = 0; i < 600; i++) {
          // The second half goes out once the new node is up.
          if (i === 300) await release.promise;
          yield i;
        }
      }
      try {
        const mapping = Array.fromAsync(slow.map(inputs(), range(600).map(() => 20)));
        await a.waitForLine(nth(ranSlow, count(a, ranSlow) + 10));
        d = await startNode(nats, "node-d", "127.0.0.4");
        nodes.push(d);
        release.resolve();
        deepStrictEqual(await mapping, range(600));
        release = Promise.withResolvers<void>();
      } finally {
        slow.close();
      }
      const taken = count(d!, ranSlow);
      console.log(`node-d, started mid-map, ran ${taken} of its inputs`);
      ok(taken > 0, "the new node ran some inputs");
    });

    await t.step("a node stopped gracefully finishes the inputs it holds", async () => {
      const node = d!;
      const slow = await through<(x: number, ms: number) => number>([a], "slow");
      const marks = nodes.map((n) => n.output.length);
      try {
        const mapping = Array.fromAsync(slow.map(range(300), range(300).map(() => 50)));
        await node.waitForLine(nth(ranSlow, count(node, ranSlow) + 2));
        const stopping = node.stop();
        stopped.add(node);
        deepStrictEqual(await mapping, range(300));
        await stopping;
      } finally {
        slow.close();
      }
      const ran = () => nodes.map((n, i) => count(n, ranSlow, marks[i]));
      await eventually("every input's line", () => Promise.resolve(sum(ran()) >= 300));
      console.log(`inputs run per node (node-d stopped gracefully mid-map): ${ran().join(", ")}`);
      equal(sum(ran()), 300, "nothing ran twice: node-d finished or handed back what it held");
    });

    await t.step("spawn through one node, FunctionCall.fromId(...).get() through another", async () => {
      const square = await through<(x: number) => number>([a], "square");
      try {
        const call = await square.spawn(12);
        equal(await FunctionCall.fromId<number>(call.id, { server: b.address, token }).get(), 144);
        const batch = await square.spawnMap(range(50));
        deepStrictEqual(
          await FunctionCall.fromId<number[]>(batch.id, { server: b.address, token }).get({ timeoutMs: 30_000 }),
          range(50).map((x) => x * x),
        );
      } finally {
        square.close();
      }
    });

    await t.step("a secret set through one node reaches functions run anywhere, never in clear in NATS", async () => {
      const admin = new Client({ server: a.address, token });
      try {
        const value = `v-${crypto.randomUUID()}`;
        await admin.setSecret("cluster-secret", { CLUSTER_SECRET: value });
        await b.waitForLine(/following secret cluster-secret/);
        await deployFixture(b, "tests/fixtures/cluster_secret_app.ts");
        const reversed = await through<() => string>([a, b], "reversedSecret", "cluster-secret-fixture");
        const expected = [...value].reverse().join("");
        try {
          deepStrictEqual(await Promise.all(range(4).map(() => reversed.remote())), range(4).map(() => expected));
        } finally {
          reversed.close();
        }
        const inClear: string[] = [];
        for await (const file of walk(nats.storeDir)) {
          if (new TextDecoder().decode(await Deno.readFile(file)).includes(value)) inClear.push(file);
        }
        deepStrictEqual(inClear, [], "no JetStream file holds the secret's value");
      } finally {
        admin.close();
      }
    });

    await t.step(
      "a caller listing two nodes fails over when one dies: UNAVAILABLE in flight, then the other",
      async () => {
        const e = await startNode(nats, "node-e", "127.0.0.4");
        nodes.push(e);
        const slow = await through<(x: number, ms: number) => number>([e, a], "slow");
        try {
          equal(await slow.remote(1, 0), 1);
          const inFlight = slow.remote(2, 3_000).then(
            (value) => `ok ${value}`,
            (err: StupidModalError) => Code[err.code],
          );
          e.process.kill("SIGKILL");
          const first = await inFlight;
          ok(["ok 2", "UNAVAILABLE"].includes(first), `the call in flight: ${first}`);
          equal(await slow.remote(3, 0), 3, "the next call reaches the live node");
          console.log(`call in flight when a listed node died: ${first}; the next call went to the other node`);
        } finally {
          slow.close();
        }
        await e.process.status;
        await eventually("node-e's executors exit", async () => (await executorsOf(e.dataDir)).length === 0);
        await e.stop();
        stopped.add(e);
      },
    );
  } finally {
    for (const node of nodes) {
      if (stopped.has(node)) continue;
      try {
        node.process.kill("SIGCONT");
      } catch {
        // Gone.
      }
      await node.stop();
    }
    await nats.stop();
  }
});

Deno.test("an input whose node stops answering on its last delivery goes to the dead-letter subject", async () => {
  const nats = await startNats();
  const flags = (name: string, host: string) => [
    `--host=${host}`,
    `--nats=${nats.url}`,
    `--node-name=${name}`,
    "--web-port=off",
    "--cluster-max-deliver=1",
    "--cluster-ack-wait-ms=1000",
  ];
  const a = await startTestServer(flags("dl-a", "127.0.0.2"), { token });
  let b: TestServer | undefined;
  try {
    await deployFixture(a, "tests/fixtures/cluster_app.ts");
    const slow = await through<(x: number, ms: number) => number>([a], "slow");
    try {
      const call = await slow.spawn(1, 60_000);
      // Node a took the input once its executor for slow is up; it keeps the input alive with
      // working() while node b starts, so b is there to hear that a's only delivery ran out.
      await eventually("node a runs the input", async () => (await executorsOf(a.dataDir)).length > 0);
      b = await startTestServer(flags("dl-b", "127.0.0.3"), { token });
      a.process.kill("SIGSTOP");
      const outcome = await FunctionCall.fromId(call.id, { server: b.address, token }).get({ timeoutMs: 30_000 }).then(
        (value) => `value ${value}`,
        (err: StupidModalError) => `${Code[err.code]}: ${err.message}`,
      );
      ok(/^ABORTED: .*delivered 1 times.*dead-letter subject sm\.dead\./.test(outcome), outcome);
    } finally {
      slow.close();
    }
  } finally {
    a.process.kill("SIGCONT");
    await a.stop();
    await b?.stop();
    await nats.stop();
  }
});
