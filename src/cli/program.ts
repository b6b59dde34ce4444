/** The `stupid-modal` program: its commands, its help, and turning what happened into an exit code. */
import { appsCommands } from "./apps_command.ts";
import { callsCommands } from "./calls_command.ts";
import {
  commandHelp,
  commandLines,
  type CommandSpec,
  globalOptions,
  groupHelp,
  optionLines,
  parseCommandArgs,
  programName,
} from "./cli_args.ts";
import { deployCommand } from "./deploy_command.ts";
import { errorText } from "./error_text.ts";
import { StupidModalError } from "../wire/errors.ts";
import { CliError, exitCodeOf, exitCodesHelp, UsageError } from "./exit_codes.ts";
import { logsCommand } from "./logs_command.ts";
import { runCommand } from "./run_command.ts";
import { secretCommands } from "./secret_command.ts";
import { tokenCommands } from "./token_command.ts";

/** Every command, in the order the help lists them. */
const commands: CommandSpec[] = [
  deployCommand,
  runCommand,
  ...appsCommands,
  logsCommand,
  ...callsCommands,
  ...secretCommands,
  ...tokenCommands,
];

/** The program's help. */
export const programHelp = [
  `${programName}: deploy, run and operate the apps of a Stupid Modal server.`,
  `Usage: ${programName} COMMAND [ARGS...] [options]`,
  `Commands:\n${commandLines(commands)}`,
  `Options of every command:\n${optionLines(globalOptions)}`,
  `Run \`${programName} COMMAND --help\` for a command's arguments and options.`,
  exitCodesHelp,
].join("\n\n") + "\n";

/**
 * Runs the CLI with its arguments; resolves with the exit code. Output goes to stdout (results)
 * and stderr (errors, logs, progress).
 *
 * @example
 * ```ts
 * Deno.exit(await main(["apps", "list", "--json"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const found = findCommand(args);
    if (typeof found === "string") {
      console.log(found);
      return 0;
    }
    const { command, rest } = found;
    const parsed = parseCommandArgs(command, rest);
    if (parsed.values.help) {
      console.log(commandHelp(command));
      return 0;
    }
    return await command.run(parsed);
  } catch (err) {
    // Anything but the CLI's and the server's own errors is unexpected: show where it came from.
    const expected = err instanceof CliError || err instanceof StupidModalError || !(err instanceof Error);
    console.error(`error: ${expected ? errorText(err) : err.stack}`);
    if (err instanceof UsageError) console.error(`\n${err.help}`);
    return exitCodeOf(err);
  }
}

/**
 * The command the arguments name, with the arguments left for it; or a help text to print when
 * they ask for help. `--server`, `--token` and `--help` may come before the command's words.
 */
function findCommand(args: string[]): { command: CommandSpec; rest: string[] } | string {
  const leading: string[] = [];
  let i = 0;
  while (i < args.length && args[i].startsWith("-")) {
    const arg = args[i++];
    if (isHelpFlag(arg) || /^--(server|token)=/.test(arg)) {
      leading.push(arg);
    } else if (arg === "--server" || arg === "--token") {
      leading.push(arg);
      if (i < args.length) leading.push(args[i++]);
    } else {
      throw new UsageError(`unknown option ${arg.split("=")[0]}`, programHelp);
    }
  }
  if (i >= args.length) {
    if (leading.some(isHelpFlag)) return programHelp;
    throw new UsageError("no command given", programHelp);
  }
  return pickCommand(args.slice(i), leading);
}

function pickCommand(args: string[], leading: string[]): { command: CommandSpec; rest: string[] } | string {
  const [word, sub] = args;
  const single = commands.find((command) => command.name === word);
  if (single) return { command: single, rest: [...leading, ...args.slice(1)] };
  const group = commands.filter((command) => command.name.startsWith(`${word} `));
  if (group.length === 0) throw new UsageError(`unknown command "${word}"`, programHelp);
  const command = group.find((command) => command.name === `${word} ${sub}`);
  if (command) return { command, rest: [...leading, ...args.slice(2)] };
  if (sub === undefined || isHelpFlag(sub)) {
    if (sub !== undefined || leading.some(isHelpFlag)) return groupHelp(word, group);
    throw new UsageError(`${word} needs a command`, groupHelp(word, group));
  }
  throw new UsageError(`unknown command "${word} ${sub}"`, groupHelp(word, group));
}

function isHelpFlag(arg: string): boolean {
  return arg === "--help" || arg === "-h";
}
