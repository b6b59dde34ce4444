/** App: a named group of functions that ship and run together. */
import type { Client, ClientOptions } from "../../client.ts";
import type { DeployResponse } from "../wire/proto.ts";
import { isAppName, isFunctionName } from "../wire/names.ts";
import { bundleApp } from "./app_bundle.ts";
import { definingModule } from "./defining_module.ts";
import { checkFunctionOptions, type FunctionOptions } from "./function_options.ts";
import { appFunctions, defineFunction } from "./function_registry.ts";
import { FunctionCall } from "./function_call.ts";
import { type AnyClass, type RemoteClass, remoteClass } from "./remote_class.ts";
import { type RemoteBackend, type RemoteFunction, remoteFunction } from "./remote_function.ts";

/**
 * A named app: define functions with `app.function(...)`, call them with `.remote(...)`.
 * Code that should not run on the server (prompts, main) belongs under `if (import.meta.main)`.
 *
 * @example
 * ```ts
 * import { App } from "stupid-modal";
 * const app = new App("demo");
 * export const add = app.function({}, function add(a: number, b: number) { return a + b; });
 * if (import.meta.main) {
 *   console.log(await add.remote(1, 2));
 *   await app.close();
 * }
 * ```
 */
export class App {
  readonly name: string;
  #options: ClientOptions;
  #client: Promise<Client> | undefined;
  #version: Promise<string> | undefined;
  /** Both, once known: calls then go straight to the client (until close() starts over). */
  #known: { client: Client; version: string } | undefined;

  /** `options` sets the server, token and log handler; by default from STUPID_MODAL_* variables. */
  constructor(name: string, options: ClientOptions = {}) {
    if (!isAppName(name)) {
      throw new TypeError(`app name "${name}" must be 1–63 letters, digits, ".", "_" or "-"`);
    }
    this.name = name;
    this.#options = options;
  }

  /** Defines a function of this app. Its name is `options.name` or the function's own name. */
  function<Args extends unknown[], Result>(
    options: FunctionOptions,
    implementation: (...args: Args) => Result,
  ): RemoteFunction<Args, Result> {
    const name = this.#checkedName(options, implementation.name);
    checkFunctionOptions(name, options);
    const isGenerator = ["AsyncGeneratorFunction", "GeneratorFunction"].includes(implementation.constructor.name);
    const defined = { appName: this.name, name, options, moduleUrl: definingModule(), implementation, isGenerator };
    defineFunction(defined);
    return remoteFunction(defined, this.#backend);
  }

  /**
   * Defines a class whose instance lives in its executors: `enter()` runs once when an executor
   * starts (load the model there), `exit()` when it stops (scale-down, shutdown). Call methods as
   * `Model.remote.predict(x)`, or `Model.with(...params).remote.predict(x)` for an instance with
   * constructor parameters; each set of parameters has its own executors.
   *
   * @example
   * ```ts
   * const Model = app.cls({}, class Model {
   *   weights: number[] = [];
   *   async enter() { this.weights = [2, 3]; }
   *   predict(x: number) { return this.weights[0] * x; }
   * });
   * console.log(await Model.remote.predict(4)); // 8
   * ```
   */
  cls<C extends AnyClass>(options: FunctionOptions, implementation: C): RemoteClass<C> {
    const name = this.#checkedName(options, implementation.name);
    checkFunctionOptions(name, options);
    defineFunction({
      appName: this.name,
      name,
      options,
      moduleUrl: definingModule(),
      implementation: implementation as unknown as (...args: unknown[]) => unknown,
      isClass: true,
    });
    return remoteClass<C>(name, this.#backend);
  }

  /**
   * Registers this app's code and makes it the deployed version of its name: from then on,
   * `lookup`, schedules, web endpoints and calls by name reach it, in any process.
   *
   * @example
   * ```ts
   * const { version } = await app.deploy();
   * ```
   */
  async deploy(): Promise<DeployResponse> {
    const { client, version } = await this.#registered();
    return await client.deploy(this.name, version);
  }

  /** Closes this app's connection to the server, if it opened one. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#version = undefined;
    this.#known = undefined;
    if (client) (await client).close();
  }

  #checkedName(options: FunctionOptions, ownName: string): string {
    const name = options.name ?? ownName;
    if (!isFunctionName(name)) {
      throw new TypeError(
        `function name "${name}" is not an identifier: name the function, or pass the \`name\` option`,
      );
    }
    return name;
  }

  /** How this app's functions reach the server: its connection and its registered version. */
  #backend: RemoteBackend = {
    call: async (functionName, args, signal, classCall) => {
      const { client, version } = this.#known ?? await this.#registered();
      return await client.call({ version, functionName, ...classCall }, args, signal);
    },
    stream: (functionName, args) => {
      const registered = () => this.#registered();
      return (async function* () {
        const { client, version } = await registered();
        yield* client.callStream({ version, functionName }, args);
      })();
    },
    spawn: async (functionName, args) => {
      const { client, version } = await this.#registered();
      return new FunctionCall(await client.spawn({ version, functionName }, args), () => Promise.resolve(client));
    },
    spawnMap: async (functionName, inputs) => {
      const { client, version } = await this.#registered();
      return new FunctionCall(await client.spawnMap({ version, functionName }, inputs), () => Promise.resolve(client));
    },
  };

  /** The connection, with this app's code registered on the server (once per process). */
  async #registered(): Promise<{ client: Client; version: string }> {
    const connecting = this.#connect();
    const client = await connecting;
    this.#version ??= bundleApp(this.name, appFunctions(this.name)).then((bundle) => client.registerApp(bundle));
    const registering = this.#version;
    const version = await registering.catch((err) => {
      this.#version = undefined;
      throw err;
    });
    if (this.#client === connecting && this.#version === registering) this.#known = { client, version };
    return { client, version };
  }

  #connect(): Promise<Client> {
    // Loaded on first use, so that executors, which import this module, never load grpc-js.
    this.#client ??= import("../../client.ts").then(({ Client }) => new Client(this.#options));
    return this.#client;
  }
}
