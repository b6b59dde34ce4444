/** The functions the benchmark calls remotely: as cheap as functions get, so the runtime is what we time. */
import { App } from "stupid-modal";

/** The benchmark's app; the benchmark closes it when done. */
export const app = new App("bench");

/** Adds two numbers: the warm-call and concurrency workload. */
export const add = app.function({}, function add(a: number, b: number): number {
  return a + b;
});

/** Returns its argument: the big-payload workload. */
export const echo = app.function({}, function echo(bytes: Uint8Array): Uint8Array {
  return bytes;
});
