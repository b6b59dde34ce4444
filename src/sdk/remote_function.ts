/** The handle `app.function(...)` returns: call the function remotely or locally, fully typed. */
import { Code, StupidModalError } from "../wire/errors.ts";
import { fanOut, type StartCall } from "./fan_out.ts";
import type { FunctionCall } from "./function_call.ts";
import type { DefinedFunction } from "./function_registry.ts";
import {
  type AnyIterable,
  type MapIterables,
  type MapOptions,
  splitOptions,
  tupleInputs,
  zipInputs,
} from "./map_inputs.ts";

/**
 * A function that can run on the server (`remote`) or in this process (`local`).
 *
 * @example
 * ```ts
 * const app = new App("demo");
 * const add = app.function({}, (a: number, b: number) => a + b);
 * console.log(await add.remote(1, 2)); // 3, computed on the server
 * ```
 */
export interface RemoteFunction<Args extends unknown[], Result> {
  /** The name the server knows this function by. */
  readonly name: string;
  /** Runs the function on the server, in its sandbox, and resolves with its result. */
  remote(...args: Args): Promise<Awaited<Result>>;
  /** Runs the function here, with this process's permissions. */
  local(...args: Args): Promise<Awaited<Result>>;
  /**
   * For an async generator function: runs it remotely and yields each value it yields, as it
   * comes, with backpressure (the function waits while this loop is behind); breaking out of the
   * loop cancels it.
   *
   * @example
   * ```ts
   * for await (const token of generate.remoteGen("a prompt")) console.log(token);
   * ```
   */
  remoteGen(...args: Args): AsyncGenerator<Yielded<Result>>;
  /**
   * Runs the function remotely once per input: one iterable per parameter, zipped, sync or async,
   * even endless. Results come in input order unless `orderOutputs: false`; with
   * `returnExceptions: true` an input's error is yielded instead of ending the map. Breaking out of
   * the loop cancels what is still running on the server.
   *
   * @example
   * ```ts
   * for await (const sum of add.map([1, 2, 3], [10, 20, 30])) console.log(sum); // 11, 22, 33
   * ```
   */
  map(...iterables: MapIterables<Args>): AsyncGenerator<Awaited<Result>>;
  map(
    ...iterablesAndOptions: [...MapIterables<Args>, MapOptions & { returnExceptions: true }]
  ): AsyncGenerator<Awaited<Result> | StupidModalError>;
  map(...iterablesAndOptions: [...MapIterables<Args>, MapOptions]): AsyncGenerator<Awaited<Result>>;
  /**
   * Like `map`, with each input given as one array of arguments.
   *
   * @example
   * ```ts
   * for await (const sum of add.starmap([[1, 10], [2, 20]])) console.log(sum); // 11, 22
   * ```
   */
  starmap(inputs: AnyIterable<Args>, options?: MapOptions): AsyncGenerator<Awaited<Result>>;
  /**
   * Like `map`, when the results are not wanted; resolves once every input ran.
   *
   * @example
   * ```ts
   * await notify.forEach(["a@example.com", "b@example.com"]);
   * ```
   */
  forEach(...iterablesAndOptions: MapIterables<Args> | [...MapIterables<Args>, MapOptions]): Promise<void>;
  /**
   * Queues a call on the server and returns its handle at once; the call keeps running if this
   * process exits, and its result stays available for the server's retention period.
   *
   * @example
   * ```ts
   * const call = await add.spawn(1, 2);
   * console.log(await call.get()); // 3
   * ```
   */
  spawn(...args: Args): Promise<FunctionCall<Awaited<Result>>>;
  /**
   * Queues one call per input (as `map` zips them) as one batch with one handle, whose `get()`
   * gives every result in input order.
   *
   * @example
   * ```ts
   * const batch = await add.spawnMap([1, 2], [10, 20]);
   * console.log(await batch.get()); // [11, 22]
   * ```
   */
  spawnMap(...iterables: MapIterables<Args>): Promise<FunctionCall<Awaited<Result>[]>>;
}

/** What a generator function yields. */
export type Yielded<R> = R extends AsyncGenerator<infer Y, unknown, unknown> ? Y
  : R extends Generator<infer Y, unknown, unknown> ? Y
  : never;

/** How a RemoteFunction reaches the server; App provides it. */
export interface RemoteBackend {
  call(
    functionName: string,
    args: unknown[],
    signal?: AbortSignal,
    target?: { method?: string; params?: unknown[]; mapId?: number },
  ): Promise<unknown>;
  stream(functionName: string, args: unknown[]): AsyncGenerator<unknown>;
  spawn(functionName: string, args: unknown[]): Promise<FunctionCall<unknown>>;
  spawnMap(functionName: string, inputs: AsyncIterable<unknown[]>): Promise<FunctionCall<unknown>>;
}

/** Makes the handle of one defined function. */
export function remoteFunction<Args extends unknown[], Result>(
  fn: DefinedFunction,
  backend: RemoteBackend,
): RemoteFunction<Args, Result> {
  const start: StartCall = (args, signal, mapId) => backend.call(fn.name, args, signal, { mapId });
  const map = (...args: unknown[]) => {
    const { iterables, options } = splitOptions(args);
    return fanOut(zipInputs(iterables), start, options);
  };
  return {
    name: fn.name,
    remote: (...args: Args) => {
      if (fn.isGenerator) {
        return Promise.reject(new TypeError(`${fn.name} is a generator function: iterate ${fn.name}.remoteGen(...)`));
      }
      return backend.call(fn.name, args) as Promise<Awaited<Result>>;
    },
    remoteGen: (...args: Args) => {
      if (!fn.isGenerator) throw new TypeError(`${fn.name} is not a generator function: call ${fn.name}.remote(...)`);
      return backend.stream(fn.name, args) as AsyncGenerator<Yielded<Result>>;
    },
    spawn: (...args: Args) => backend.spawn(fn.name, args) as Promise<FunctionCall<Awaited<Result>>>,
    spawnMap: (...iterables: MapIterables<Args>) =>
      backend.spawnMap(fn.name, zipInputs(iterables as AnyIterable<unknown>[])) as Promise<
        FunctionCall<Awaited<Result>[]>
      >,
    map: map as RemoteFunction<Args, Result>["map"],
    starmap: (inputs, options) => fanOut(tupleInputs(inputs), start, options) as AsyncGenerator<Awaited<Result>>,
    forEach: async (...args: unknown[]) => {
      for await (const _ of map(...args)) {
        // Results are not wanted; errors still end the loop.
      }
    },
    local: async (...args: Args): Promise<Awaited<Result>> => {
      try {
        return await (fn.implementation(...args) as Result);
      } catch (err) {
        throw explainLocalFailure(fn, err);
      }
    },
  };
}

/** A local run that lacks a permission says which, and what the function declared. */
function explainLocalFailure(fn: DefinedFunction, err: unknown): unknown {
  if (!(err instanceof Deno.errors.NotCapable)) return err;
  const declared = JSON.stringify(fn.options.permissions ?? {});
  return new StupidModalError(
    Code.PERMISSION_DENIED,
    `${fn.name}.local() ran in this process, which lacks a permission the function needs ` +
      `(${err.message.replace(/, run again with.*$/, "")}). The function declares ${declared}; ` +
      `.remote() runs it on the server, whose operator grants that.`,
    { cause: err },
  );
}
