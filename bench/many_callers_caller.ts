/**
 * One caller process of the many-callers case: warms up, says "ready", waits for "go" on stdin,
 * then makes its calls one after another and prints their latencies (ms) as one JSON line.
 * `ours` calls `add` on our server (STUPID_MODAL_SERVER, STUPID_MODAL_TOKEN); `b1` calls the echo
 * server at the address given.
 *
 * Usage: many_callers_caller.ts ours|b1 CALLS [B1_ADDRESS]
 *
 * @module
 */
import { add, app } from "./bench_app.ts";
import { connectEcho } from "./echo_client.ts";

const [side, count, address] = Deno.args;
const calls = Number(count);
const smallPayload = new Uint8Array(8);
const echo = side === "b1" ? connectEcho(address) : undefined;
const call = echo ? () => echo.echo(smallPayload) : async () => {
  if (await add.remote(1, 2) !== 3) throw new Error("add.remote(1, 2) was not 3");
};

for (let i = 0; i < 20; i++) await call();
console.log("ready");
const go = new Uint8Array(16);
await Deno.stdin.read(go);
const samples: number[] = [];
for (let i = 0; i < calls; i++) {
  const started = performance.now();
  await call();
  samples.push(performance.now() - started);
}
console.log(JSON.stringify(samples));
echo?.close();
app.close();
