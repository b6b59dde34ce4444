/**
 * Runs many calls of one function with bounded concurrency: inputs are pulled from their iterator
 * only while fewer than `maxOutstanding` are unanswered (backpressure), results come back in input
 * order or as they finish, and stopping early — a consumer that breaks, an input iterator that
 * throws, an error — cancels every call still outstanding.
 */
import { StupidModalError } from "../wire/errors.ts";
import type { MapOptions } from "./map_inputs.ts";

/** Starts one call of the map `mapId`; it must reject once `signal` aborts. */
export type StartCall = (args: unknown[], signal: AbortSignal, mapId: number) => Promise<unknown>;

/** Numbers the maps of this process: the server logs each map's inputs together. */
let lastMapId = 0;

type Outcome = { value: unknown; error?: undefined } | { error: StupidModalError; value?: undefined };

/** Yields each input's result (or, with returnExceptions, its error). */
export async function* fanOut(
  inputs: AsyncIterator<unknown[]>,
  start: StartCall,
  options: MapOptions = {},
): AsyncGenerator<unknown> {
  const ordered = options.orderOutputs ?? true;
  const maxOutstanding = options.maxOutstanding ?? 1000;
  if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1) {
    throw new TypeError(`maxOutstanding must be a positive whole number, got ${maxOutstanding}`);
  }
  const controller = new AbortController();
  const mapId = ++lastMapId;
  // Ordered: outcomes by input index, taken in index order. Unordered: outcomes as they finish.
  const byIndex = new Map<number, Outcome>();
  const asFinished: Outcome[] = [];
  let outstanding = 0;
  let sent = 0;
  let yielded = 0;
  let nextToYield = 0;
  let inputsDone = false;
  let inputError: unknown;
  // Each side waits on a promise of its own, made only when it has to wait.
  let wakePump: (() => void) | undefined;
  let wakeConsumer: (() => void) | undefined;
  const pumpMayGo = () => {
    const wake = wakePump;
    wakePump = undefined;
    wake?.();
  };
  const consumerMayGo = () => {
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };

  const pump = async () => {
    try {
      while (!controller.signal.aborted) {
        // Sent but not yet taken by the consumer: a slow consumer slows the inputs down too.
        if (sent - yielded >= maxOutstanding) {
          await new Promise<void>((resolve) => wakePump = resolve);
          continue;
        }
        const step = await inputs.next();
        if (step.done || controller.signal.aborted) break;
        const index = sent++;
        outstanding++;
        start(step.value, controller.signal, mapId).then(
          (value) => settle(index, { value }),
          (error) => settle(index, { error: StupidModalError.from(error) }),
        );
      }
    } catch (err) {
      inputError = err;
    } finally {
      inputsDone = true;
      consumerMayGo();
    }
  };
  const settle = (index: number, outcome: Outcome) => {
    outstanding--;
    if (ordered) byIndex.set(index, outcome);
    else asFinished.push(outcome);
    consumerMayGo();
  };
  const take = (): Outcome | undefined => {
    if (!ordered) return asFinished.shift();
    const outcome = byIndex.get(nextToYield);
    if (outcome) byIndex.delete(nextToYield++);
    return outcome;
  };

  pump();
  try {
    while (true) {
      if (inputError !== undefined) throw inputError;
      const outcome = take();
      if (outcome) {
        if (outcome.error && !options.returnExceptions) throw outcome.error;
        yielded++;
        pumpMayGo();
        yield outcome.error ?? outcome.value;
        continue;
      }
      if (inputsDone && outstanding === 0) return;
      await new Promise<void>((resolve) => wakeConsumer = resolve);
    }
  } finally {
    // Whatever ended the map, nothing it started keeps running on the server.
    controller.abort();
    pumpMayGo();
    inputs.return?.().catch(() => {});
  }
}
