/**
 * Stupid Modal: run TypeScript functions on a server, in sandboxes whose permissions they declare.
 *
 * @example
 * ```ts
 * import { App } from "stupid-modal";
 * const app = new App("demo");
 * export const add = app.function({}, function add(a: number, b: number) { return a + b; });
 * if (import.meta.main) console.log(await add.remote(1, 2));
 * ```
 *
 * @module
 */
export { App } from "./src/sdk/app.ts";
export { FunctionCall } from "./src/sdk/function_call.ts";
export { type DeployedFunction, lookup, type LookupOptions } from "./src/sdk/lookup.ts";
export type { FunctionOptions, Permissions, RetryOptions, ScheduleOptions } from "./src/sdk/function_options.ts";
export type { RemoteFunction } from "./src/sdk/remote_function.ts";
export type { RemoteClass, RemoteMethods } from "./src/sdk/remote_class.ts";
export type { AnyIterable, MapIterables, MapOptions } from "./src/sdk/map_inputs.ts";
export { Code, RemoteError, StupidModalError } from "./src/wire/errors.ts";
export type { ClientOptions, RemoteLogLine } from "./client.ts";
