/** Commands' flags and arguments: their specs, parsing with `node:util` parseArgs, and help texts. */
import { parseArgs } from "node:util";
import { exitCodesHelp, UsageError } from "./exit_codes.ts";

/** The program's name in help texts. */
export const programName = "stupid-modal";

/**
 * One flag of a command.
 *
 * @example
 * ```ts
 * const tail: OptionSpec = { type: "string", value: "N", help: "how many recent lines (default 100)" };
 * ```
 */
export interface OptionSpec {
  type: "boolean" | "string";
  /** A one-letter alias. */
  short?: string;
  /** The value's placeholder in help texts, for a string flag. */
  value?: string;
  help: string;
}

/** What a command received: its flags (global ones included) and positional arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * One command of the CLI.
 *
 * @example
 * ```ts
 * const stop: CommandSpec = {
 *   name: "apps stop", args: "APP", summary: "stop a deployed app", options: {},
 *   minArgs: 1, maxArgs: 1, run: async ({ positionals }) => 0,
 * };
 * ```
 */
export interface CommandSpec {
  /** The words that name it: "deploy", "apps list". */
  name: string;
  /** Its positional arguments as the usage line shows them: "APP", "FILE::FUNCTION [ARGS...]". */
  args: string;
  /** One line for the program's command list. */
  summary: string;
  /** Paragraphs for the command's own help. */
  details?: string;
  options: Record<string, OptionSpec>;
  minArgs: number;
  maxArgs: number;
  /** Runs the command; resolves with the exit code. */
  run(args: ParsedArgs): Promise<number>;
}

/** The flags every command takes. */
export const globalOptions: Record<string, OptionSpec> = {
  server: {
    type: "string",
    value: "HOST:PORT",
    help: "the server (default: STUPID_MODAL_SERVER, then 127.0.0.1:50051)",
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "the server's token (default: STUPID_MODAL_TOKEN; a flag may land in shell history)",
  },
  help: { type: "boolean", short: "h", help: "show this help" },
};

/**
 * Parses a command's arguments. Tokens that look like negative numbers ("-1", "-2.5") are
 * arguments, not flags; `--` ends the flags.
 *
 * @example
 * ```ts
 * const { values, positionals } = parseCommandArgs(command, ["APP", "--json"]);
 * ```
 */
export function parseCommandArgs(command: CommandSpec, argv: string[]): ParsedArgs {
  const options = { ...command.options, ...globalOptions };
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({
      args: flagsFirst(argv, options),
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          spec.short ? { type: spec.type, short: spec.short } : { type: spec.type },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    }) as ParsedArgs;
  } catch (err) {
    // Node's hint about "--" is about positionals, which is not what went wrong here.
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(message, commandHelp(command));
  }
  if (parsed.values.help) return parsed;
  const count = parsed.positionals.length;
  if (count < command.minArgs || count > command.maxArgs) {
    const expected = command.args ? `takes ${command.args}` : "takes no arguments";
    throw new UsageError(`${command.name} ${expected}`, commandHelp(command));
  }
  return parsed;
}

/**
 * A whole number flag, at least `min`; `fallback` when it is not given.
 *
 * @example
 * ```ts
 * const tail = intOption(command, values, "tail", 100, 1);
 * ```
 */
export function intOption(
  command: CommandSpec,
  values: ParsedArgs["values"],
  name: string,
  fallback: number,
  min = 0,
): number {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (typeof text !== "string" || !/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} takes a whole number of at least ${min}, got "${text}"`, commandHelp(command));
  }
  return value;
}

/** The help text of one command. */
export function commandHelp(command: CommandSpec): string {
  const usage = [programName, command.name, command.args, "[options]"].filter(Boolean).join(" ");
  const sections = [`Usage: ${usage}`, capitalised(command.summary) + "."];
  if (command.details) sections.push(command.details);
  sections.push(`Options:\n${optionLines({ ...command.options, ...globalOptions })}`);
  sections.push(exitCodesHelp);
  return sections.join("\n\n") + "\n";
}

/** The help text of a group of commands ("apps"). */
export function groupHelp(group: string, commands: CommandSpec[]): string {
  return [
    `Usage: ${programName} ${group} COMMAND [options]`,
    `Commands:\n${commandLines(commands)}`,
    `Run \`${programName} ${group} COMMAND --help\` for a command's arguments and options.`,
  ].join("\n\n") + "\n";
}

/** Aligned "name args  summary" lines. */
export function commandLines(commands: CommandSpec[]): string {
  const heads = commands.map((command) => [command.name, command.args].filter(Boolean).join(" "));
  const width = Math.max(...heads.map((head) => head.length));
  return commands.map((command, i) => `  ${heads[i].padEnd(width)}  ${command.summary}`).join("\n");
}

/** Aligned "--flag VALUE  help" lines. */
export function optionLines(options: Record<string, OptionSpec>): string {
  const heads = Object.entries(options).map(([name, spec]) => {
    const long = `--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
    return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(...heads.map((head) => head.length));
  return Object.values(options).map((spec, i) => `  ${heads[i].padEnd(width)}  ${spec.help}`).join("\n");
}

/** Reorders argv as flags, "--", then positionals, so negative numbers stay positionals. */
function flagsFirst(argv: string[], options: Record<string, OptionSpec>): string[] {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-" || /^-\.?\d/.test(token)) {
      positionals.push(token);
      continue;
    }
    flags.push(token);
    if (token.startsWith("--") && !token.includes("=") && options[token.slice(2)]?.type === "string") {
      if (i + 1 < argv.length) flags.push(argv[++i]);
    }
  }
  return [...flags, "--", ...positionals];
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
