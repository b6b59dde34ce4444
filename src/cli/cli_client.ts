/** The CLI's connection: a Client from `--server`/`--token`, else STUPID_MODAL_SERVER/STUPID_MODAL_TOKEN. */
import { Client, type RemoteLogLine } from "../../client.ts";
import type { ParsedArgs } from "./cli_args.ts";

/**
 * Opens a connection with the command's settings. Remote log lines go to `onLog`, by default to
 * stderr marked with their function, so that stdout holds only results.
 *
 * @example
 * ```ts
 * const client = cliClient(values);
 * try {
 *   console.log((await client.listApps()).apps.length);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export function cliClient(values: ParsedArgs["values"], onLog: (line: RemoteLogLine) => void = printLogLine): Client {
  return new Client({
    server: typeof values.server === "string" ? values.server : undefined,
    token: typeof values.token === "string" ? values.token : undefined,
    onLog,
  });
}

/**
 * Runs `work` with a connection, closing it afterwards whatever happens.
 *
 * @example
 * ```ts
 * const apps = await withClient(values, (client) => client.listApps());
 * ```
 */
export async function withClient<T>(values: ParsedArgs["values"], work: (client: Client) => Promise<T>): Promise<T> {
  const client = cliClient(values);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** One remote log line on stderr, as `[remote fn] text`. */
export function logLineText(line: RemoteLogLine): string {
  return `[remote ${line.function}] ${line.text}`;
}

function printLogLine(line: RemoteLogLine): void {
  console.error(logLineText(line));
}
