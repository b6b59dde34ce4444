/**
 * Big payload: a 64 MiB Uint8Array echoed by a remote function, round trip, against the same bytes
 * through B1's unary echo. Needs our server's --max-payload-mb above 64 (CBOR adds a few bytes).
 */
import { echo } from "../bench_app.ts";
import type { BenchContext } from "../bench_context.ts";
import { makeRow, type Row } from "../row.ts";
import { median } from "../stats.ts";

/**
 * Row "64 MiB echo round trip" in ms (target ours <= 1.3x B1).
 *
 * @example
 * ```ts
 * rows.push(await bigPayload(context));
 * ```
 */
export async function bigPayload(context: BenchContext): Promise<Row> {
  const { plan } = context;
  const bytes = patterned(plan.payloadBytes);
  const mib = plan.payloadBytes / (1024 * 1024);
  context.progress(`big payload: ${mib} MiB echo, ${plan.payloadTrips} round trips each`);
  const callOurs = async () => check(await echo.remote(bytes), bytes);
  const callTheirs = async () => check(await context.echo.echo(bytes), bytes);
  // Untimed first trips: start the echo executor, let both sides grow their buffers.
  await callOurs();
  await callTheirs();
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let trip = 0; trip < plan.payloadTrips; trip++) {
    ours.push(await timed(callOurs));
    theirs.push(await timed(callTheirs));
  }
  return makeRow(`${mib} MiB echo round trip (vs B1 unary echo)`, "ms", median(ours), median(theirs), {
    atMost: 1.3,
  });
}

async function timed(call: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

// Not all zeros, so that a truncated or shifted echo cannot pass the check.
function patterned(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 4096) bytes[i] = (i >>> 12) & 0xff;
  bytes[length - 1] = 0x5a;
  return bytes;
}

function check(got: Uint8Array, sent: Uint8Array): void {
  const same = got.byteLength === sent.byteLength && got[got.byteLength - 1] === sent[sent.byteLength - 1] &&
    got[sent.byteLength - 4096] === sent[sent.byteLength - 4096];
  if (!same) throw new Error(`echo returned ${got.byteLength} bytes that differ from the ${sent.byteLength} sent`);
}
