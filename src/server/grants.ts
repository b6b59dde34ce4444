/**
 * The operator's grants, the ceiling of what functions may ask for, and the check of a function's
 * request against them. The server's own data, token and code are never grantable.
 */
import { resolve, sep } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { PermissionsMessage } from "../wire/proto.ts";
import type { WorkerPermissions } from "../sandbox/executor_messages.ts";

/** What functions on this server may be given; paths are absolute. */
export interface Grants {
  read: string[];
  write: string[];
  net: string[];
  env: string[];
}

const flagOf = { read: "--grant-read", write: "--grant-write", net: "--grant-net", env: "--grant-env" };

/** Resolves grant paths and refuses any that would expose the server's own files. */
export function resolveGrants(grants: Grants, cwd: string, protectedPaths: string[]): Grants {
  const resolved = {
    read: grants.read.map((path) => resolve(cwd, path)),
    write: grants.write.map((path) => resolve(cwd, path)),
    net: grants.net,
    env: grants.env,
  };
  for (const kind of ["read", "write"] as const) {
    for (const path of resolved[kind]) {
      const clash = protectedPaths.find((own) => within(own, path) || within(path, own));
      if (clash) {
        throw new Error(
          `${flagOf[kind]}=${path} would expose the server's own files (${clash}); ` +
            `grant a folder that neither holds nor lies inside the server's code or data directory`,
        );
      }
    }
  }
  return resolved;
}

/**
 * Checks that a function asks for no more than the grants and turns its request into Deno worker
 * permissions. Throws PERMISSION_DENIED naming the permission and the flag that would allow it.
 */
export function workerPermissions(
  functionName: string,
  requested: PermissionsMessage,
  grants: Grants,
  cwd: string,
): WorkerPermissions {
  const deny = (kind: keyof Grants, value: string): never => {
    throw new StupidModalError(
      Code.PERMISSION_DENIED,
      `function "${functionName}" asks for ${kind} access to "${value}", which this server does not ` +
        `grant; the operator can allow it with ${flagOf[kind]}=${value}`,
    );
  };
  const paths = (kind: "read" | "write") =>
    requested[kind].map((path) => {
      const absolute = resolve(cwd, path);
      if (!grants[kind].some((granted) => within(granted, absolute))) deny(kind, path);
      return absolute;
    });
  const read = paths("read");
  const write = paths("write");
  for (const host of requested.net) if (!netGranted(host, grants.net)) deny("net", host);
  for (const name of requested.env) if (!envGranted(name, grants.env)) deny("env", name);
  return {
    read: read.length > 0 ? read : false,
    write: write.length > 0 ? write : false,
    net: requested.net.length > 0 ? requested.net : false,
    env: requested.env.length > 0 ? requested.env : false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/** Whether `path` is `folder` or inside it. */
export function within(folder: string, path: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

function netGranted(host: string, granted: string[]): boolean {
  const bareHost = host.replace(/:\d+$/, "");
  return granted.includes(host) || (bareHost !== host && granted.includes(bareHost));
}

function envGranted(name: string, granted: string[]): boolean {
  return granted.some((entry) => entry === name || (entry.endsWith("*") && name.startsWith(entry.slice(0, -1))));
}
