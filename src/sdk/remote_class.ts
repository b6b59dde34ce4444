/** The handle `app.cls(...)` returns: a class's methods, called on its instance on the server. */
import type { RemoteBackend } from "./remote_function.ts";

/** Any class. */
// deno-lint-ignore no-explicit-any
export type AnyClass = new (...args: any[]) => object;

/** The methods a caller may call: every method but the lifecycle hooks. */
export type MethodNames<T> = {
  // deno-lint-ignore no-explicit-any
  [K in keyof T]: T[K] extends (...args: any[]) => unknown ? (K extends "enter" | "exit" ? never : K) : never;
}[keyof T];

/** Each method of `T`, run remotely, resolving to what it returns. */
export type RemoteMethods<T> = {
  [K in MethodNames<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * A class defined with `app.cls`.
 *
 * @example
 * ```ts
 * const Greeter = app.cls({}, class Greeter {
 *   constructor(readonly greeting = "hello") {}
 *   greet(name: string) { return `${this.greeting}, ${name}`; }
 * });
 * await Greeter.remote.greet("you");              // "hello, you"
 * await Greeter.with("hi").remote.greet("you");   // "hi, you", on executors of its own
 * ```
 */
export interface RemoteClass<C extends AnyClass> {
  /** The name the server knows the class by. */
  readonly name: string;
  /** The methods of the instance made without constructor parameters. */
  readonly remote: RemoteMethods<InstanceType<C>>;
  /** The instance made with these constructor parameters. */
  with(...params: ConstructorParameters<C>): { readonly remote: RemoteMethods<InstanceType<C>> };
}

const notMethods = new Set(["then", "toJSON", "constructor", "enter", "exit"]);

/** Makes the handle of one defined class. */
export function remoteClass<C extends AnyClass>(name: string, backend: RemoteBackend): RemoteClass<C> {
  const methods = (params: unknown[]) =>
    new Proxy({}, {
      // Not a method: `then` (so that awaiting the handle is harmless), symbols, and the like.
      get: (_target, method) =>
        typeof method === "string" && !notMethods.has(method)
          ? (...args: unknown[]) => backend.call(name, args, undefined, { method, params })
          : undefined,
    }) as RemoteMethods<InstanceType<C>>;
  return { name, remote: methods([]), with: (...params) => ({ remote: methods(params) }) };
}
