/** Where the server is and how to authenticate: options first, then STUPID_MODAL_* variables. */

/** The default server address, matching `deno task server`. */
export const defaultServer = "127.0.0.1:50051";

/**
 * How to reach the server.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = { server: "127.0.0.1:50051", token: "…" };
 * ```
 */
export interface ConnectionOptions {
  /** host:port; default `STUPID_MODAL_SERVER`, then 127.0.0.1:50051. */
  server?: string;
  /** The bearer token; default `STUPID_MODAL_TOKEN`. */
  token?: string;
}

/** Resolved settings. */
export interface ConnectionSettings {
  server: string;
  token: string | undefined;
}

/** Fills in unset options from the environment, where this process may read it. */
export function connectionSettings(options: ConnectionOptions = {}): ConnectionSettings {
  return {
    server: options.server ?? readEnv("STUPID_MODAL_SERVER") ?? defaultServer,
    token: options.token ?? readEnv("STUPID_MODAL_TOKEN"),
  };
}

function readEnv(name: string): string | undefined {
  const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
  return state === "granted" ? Deno.env.get(name) || undefined : undefined;
}
