/** What the CLI's exit codes mean, and which one an error stands for. */
import { Code, StupidModalError } from "../wire/errors.ts";

/**
 * The CLI's exit codes.
 *
 * @example
 * ```ts
 * if (failed > 0) return ExitCode.FAILED;
 * ```
 */
export enum ExitCode {
  /** Everything asked for was done. */
  OK = 0,
  /** The user's code failed: a function, an input of a map, or the module's top level. */
  FAILED = 1,
  /** A usage error: an unknown command or flag, a missing or malformed argument. */
  USAGE = 2,
  /** What was named does not exist: an app, a function, a call, a secret, a file. */
  NOT_FOUND = 3,
  /** No token, a wrong token, or a permission the server does not grant. */
  DENIED = 4,
  /** The server cannot be reached. */
  UNAVAILABLE = 5,
  /** Any other error the server reported. */
  SERVER_ERROR = 6,
}

/**
 * An error the CLI reports with a given exit code.
 *
 * @example
 * ```ts
 * throw new CliError(ExitCode.NOT_FOUND, "tests/app.ts defines no app named \"x\"");
 * ```
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * A usage error: printed with the help text of the command it concerns, exit code 2.
 *
 * @example
 * ```ts
 * throw new UsageError("apps show takes one APP", helpText);
 * ```
 */
export class UsageError extends CliError {
  /** The help text of the command (or the program) that was misused. */
  readonly help: string;

  constructor(message: string, help: string) {
    super(ExitCode.USAGE, message);
    this.name = "UsageError";
    this.help = help;
  }
}

/** The exit codes, as `--help` and the README list them. */
export const exitCodesHelp = `Exit codes:
  0  ok
  1  the function (or an input of a map, or the module's top level) failed
  2  usage error
  3  not found (app, function, call, secret, file)
  4  unauthenticated or permission denied
  5  server unavailable
  6  other server error`;

/**
 * The exit code for an error raised outside the user's code: by the CLI, the connection or the
 * server.
 *
 * @example
 * ```ts
 * exitCodeOf(new StupidModalError(Code.NOT_FOUND, "no app")); // ExitCode.NOT_FOUND
 * ```
 */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof Deno.errors.NotFound) return ExitCode.NOT_FOUND;
  if (!(err instanceof StupidModalError)) return ExitCode.SERVER_ERROR;
  switch (err.code) {
    case Code.INVALID_ARGUMENT:
      return ExitCode.USAGE;
    case Code.NOT_FOUND:
      return ExitCode.NOT_FOUND;
    case Code.UNAUTHENTICATED:
    case Code.PERMISSION_DENIED:
      return ExitCode.DENIED;
    case Code.UNAVAILABLE:
      return ExitCode.UNAVAILABLE;
    default:
      return ExitCode.SERVER_ERROR;
  }
}

/**
 * The exit code for the failure of a call that the server accepted: the function failed (1),
 * unless the failure is about reaching or being allowed to use the server.
 *
 * @example
 * ```ts
 * callExitCode(remoteError); // ExitCode.FAILED
 * ```
 */
export function callExitCode(err: unknown): ExitCode {
  if (!(err instanceof StupidModalError)) return ExitCode.FAILED;
  switch (err.code) {
    case Code.UNAVAILABLE:
    case Code.UNAUTHENTICATED:
    case Code.NOT_FOUND:
    case Code.INVALID_ARGUMENT:
    case Code.FAILED_PRECONDITION:
      return exitCodeOf(err);
    default:
      return ExitCode.FAILED;
  }
}
