/** The handle `app.function(...)` returns: call the function remotely or locally, fully typed. */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { DefinedFunction } from "./function_registry.ts";

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
}

/** How a RemoteFunction reaches the server; App provides it. */
export type RemoteCaller = (functionName: string, args: unknown[]) => Promise<unknown>;

/** Makes the handle of one defined function. */
export function remoteFunction<Args extends unknown[], Result>(
  fn: DefinedFunction,
  callRemote: RemoteCaller,
): RemoteFunction<Args, Result> {
  return {
    name: fn.name,
    remote: (...args: Args) => callRemote(fn.name, args) as Promise<Awaited<Result>>,
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
