/**
 * Lets a caller run with `--allow-env=STUPID_MODAL_*` only. grpc-js reads optional settings
 * (GRPC_VERBOSITY, GRPC_TRACE, proxies) from `process.env` when it loads, and Deno throws on a
 * variable the process may not read. This module, imported before grpc-js, makes such variables
 * read as unset, which is what they are to this process. Variables it may read are unchanged.
 */
import process from "node:process";

const mayRead = (name: string) => Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";

if (!mayRead("GRPC_VERBOSITY")) {
  const readable = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => typeof name === "string" && mayRead(name) ? Deno.env.get(name) : undefined,
    has: (_target, name) => typeof name === "string" && mayRead(name) && Deno.env.has(name),
    set: () => true,
    ownKeys: () => [],
  });
  process.env = readable;
}
