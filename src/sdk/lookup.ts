/** Handles on deployed functions, by app and function name, without the app's source. */
import type { Client, ClientOptions } from "../../client.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { FunctionCall } from "./function_call.ts";
import { type RemoteBackend, type RemoteFunction, remoteFunction } from "./remote_function.ts";

/** A deployed function's handle: a RemoteFunction whose `local` is refused, and its connection. */
export type DeployedFunction<Args extends unknown[], Result> = RemoteFunction<Args, Result> & {
  /** The app it belongs to. */
  readonly appName: string;
  /** Closes the connection this handle opened (not one passed in as `client`). */
  close(): void;
};

/** Options of `lookup`: the connection's settings, or an open `client` to share. */
export interface LookupOptions extends ClientOptions {
  client?: Client;
}

/**
 * A handle on a deployed function, in any process that can reach the server. Calls go to the
 * app's deployed version at the time of each call. Type it with the function's own type.
 *
 * @example
 * ```ts
 * import { lookup } from "stupid-modal";
 * const inference = await lookup<(a: number, b: number) => number>("demo", "inference");
 * console.log(await inference.remote(3, 5));
 * inference.close();
 * ```
 */
export async function lookup<F extends (...args: never[]) => unknown>(
  appName: string,
  functionName: string,
  options: LookupOptions = {},
): Promise<DeployedFunction<Parameters<F>, ReturnType<F>>> {
  const { Client } = await import("../../client.ts");
  const client = options.client ?? new Client(options);
  try {
    const [app] = (await client.listApps(appName)).apps;
    const spec = app.functions.find((fn) => fn.name === functionName);
    if (!spec) {
      const known = app.functions.map((fn) => fn.name).join(", ");
      throw new StupidModalError(
        Code.NOT_FOUND,
        `app "${appName}" has no function "${functionName}" (it has: ${known})`,
      );
    }
    if (spec.is_class) {
      throw new StupidModalError(
        Code.INVALID_ARGUMENT,
        `${appName}.${functionName} is a class; lookup takes functions`,
      );
    }
    const defined = {
      appName,
      name: functionName,
      options: {},
      moduleUrl: "",
      isGenerator: spec.is_generator ?? false,
      implementation: () => {
        throw new StupidModalError(
          Code.FAILED_PRECONDITION,
          `${appName}.${functionName} was looked up by name: it has no local implementation here; use .remote()`,
        );
      },
    };
    const handle = remoteFunction<Parameters<F>, ReturnType<F>>(defined, deployedBackend(appName, client));
    const close = () => {
      if (!options.client) client.close();
    };
    return Object.assign(handle, { appName, close });
  } catch (err) {
    if (!options.client) client.close();
    throw err;
  }
}

function deployedBackend(appName: string, client: Client): RemoteBackend {
  const connection = () => Promise.resolve(client);
  return {
    call: (functionName, args, signal, target) => client.call({ appName, functionName, ...target }, args, signal),
    stream: (functionName, args) => client.callStream({ appName, functionName }, args),
    spawn: async (functionName, args) =>
      new FunctionCall(await client.spawn({ appName, functionName }, args), connection),
    spawnMap: async (functionName, inputs) =>
      new FunctionCall(await client.spawnMap({ appName, functionName }, inputs), connection),
  };
}
