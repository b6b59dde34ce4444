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
  /**
   * host:port; or a cluster's nodes, `ip1:port,ip2:port` or `dns:NAME:PORT`, balanced round-robin;
   * default `STUPID_MODAL_SERVER`, then 127.0.0.1:50051.
   */
  server?: string;
  /** The bearer token; default `STUPID_MODAL_TOKEN`. */
  token?: string;
  /**
   * Connect with TLS, trusting this CA: PEM text, or the path of a PEM file; default
   * `STUPID_MODAL_CA`. Without it (and without `tls: true`) the connection is plaintext.
   */
  ca?: string;
  /** Connect with TLS trusting the system's CAs (implied by `ca`); default `STUPID_MODAL_TLS=1`. */
  tls?: boolean;
  /** A client certificate and its key (PEM text or paths), for a server that requires one. */
  clientCert?: string;
  clientKey?: string;
}

/** Resolved settings. */
export interface ConnectionSettings {
  server: string;
  token: string | undefined;
  /** TLS material, PEM text; undefined for a plaintext connection. */
  tls?: { ca?: string; clientCert?: string; clientKey?: string };
}

/** Fills in unset options from the environment, where this process may read it. */
export function connectionSettings(options: ConnectionOptions = {}): ConnectionSettings {
  const ca = options.ca ?? readEnv("STUPID_MODAL_CA");
  const clientCert = options.clientCert ?? readEnv("STUPID_MODAL_CLIENT_CERT");
  const clientKey = options.clientKey ?? readEnv("STUPID_MODAL_CLIENT_KEY");
  const tls = options.tls ?? (ca !== undefined || clientCert !== undefined || readEnv("STUPID_MODAL_TLS") === "1");
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new TypeError("a client certificate and its key go together (clientCert and clientKey)");
  }
  return {
    server: options.server ?? readEnv("STUPID_MODAL_SERVER") ?? defaultServer,
    token: options.token ?? readEnv("STUPID_MODAL_TOKEN"),
    tls: tls
      ? {
        ca: ca && pem(ca, "ca"),
        clientCert: clientCert && pem(clientCert, "clientCert"),
        clientKey: clientKey && pem(clientKey, "clientKey"),
      }
      : undefined,
  };
}

/** PEM text as given, or read from the file it names. */
function pem(value: string, what: string): string {
  if (value.trimStart().startsWith("-----BEGIN")) return value;
  try {
    return Deno.readTextFileSync(value);
  } catch (err) {
    throw new TypeError(`cannot read the ${what} PEM file ${value}: ${(err as Error).message}`, { cause: err });
  }
}

function readEnv(name: string): string | undefined {
  const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
  return state === "granted" ? Deno.env.get(name) || undefined : undefined;
}
