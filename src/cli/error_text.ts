/** How the CLI shows an error: a remote exception with its stack and causes, or a status and message. */
import { Code, RemoteError, StupidModalError } from "../wire/errors.ts";
import { valueText } from "./value_text.ts";

/**
 * An error as text for stderr: a user exception as its remote stack (with the user's file names)
 * and its causes; a platform error as its status code and message.
 *
 * @example
 * ```ts
 * console.error(`error: ${errorText(err)}`);
 * ```
 */
export function errorText(err: unknown): string {
  if (err instanceof RemoteError) {
    const stack = err.remoteStack.trim() || `${err.remoteName}: ${err.message}`;
    const shown = stack.startsWith(err.remoteName) ? stack : `${err.remoteName}: ${err.message}\n${stack}`;
    return err.cause === undefined ? shown : `${shown}\nCaused by: ${causeText(err.cause)}`;
  }
  if (err instanceof StupidModalError) return `${err.message} (${Code[err.code] ?? err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An error for `--json` output.
 *
 * @example
 * ```ts
 * errorFields(err); // { code: "UNKNOWN", name: "TypeError", message: "bad input", stack: "…" }
 * ```
 */
export function errorFields(err: unknown): { code: string; name: string; message: string; stack?: string } {
  if (err instanceof RemoteError) {
    return { code: Code[err.code], name: err.remoteName, message: err.message, stack: err.remoteStack };
  }
  if (err instanceof StupidModalError) {
    return { code: Code[err.code] ?? String(err.code), name: err.name, message: err.message };
  }
  if (err instanceof Error) return { code: Code[Code.UNKNOWN], name: err.name, message: err.message };
  return { code: Code[Code.UNKNOWN], name: "Error", message: String(err) };
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? errorText(cause) : valueText(cause);
}
