/** `run FILE::FUNCTION [ARGS...]`: runs one function of a module once (or over inputs), without deploying it. */
import type { CallTarget } from "../../client.ts";
import { bundleApp } from "../sdk/app_bundle.ts";
import { appFunctions } from "../sdk/function_registry.ts";
import { commandHelp, type CommandSpec } from "./cli_args.ts";
import { cliClient, logLineText } from "./cli_client.ts";
import { errorText } from "./error_text.ts";
import { callExitCode, UsageError } from "./exit_codes.ts";
import { ProgressLine } from "./progress_line.ts";
import { mapInputs, runMap } from "./run_map.ts";
import { findUserFunction, importUserModule } from "./user_module.ts";
import { argumentValue, valueText } from "./value_text.ts";

/** The `run` command. */
export const runCommand: CommandSpec = {
  name: "run",
  args: "FILE::FUNCTION [ARGS...]",
  summary: "run one function of FILE once, or once per input with --map (nothing is deployed)",
  details: [
    "Imports FILE here (its top level runs with this process's permissions; its",
    "`if (import.meta.main)` block does not), ships its app's code as an ephemeral version and calls",
    "FUNCTION (for a class's method: CLASS.METHOD) on the server.",
    "",
    "Each of ARGS is parsed as JSON when it parses (3, 1.5, true, null, '[1,2]', '{\"a\":1}'),",
    "else taken as a string. Put -- before arguments that start with - and are not numbers.",
    "The result prints on stdout as JSON, or in a readable form for values JSON cannot hold",
    "(BigInt, Map, Uint8Array…); a generator prints each value it yields on its own line.",
    "The function's log lines go to stderr. Exit code 1 when the function fails.",
    "",
    "With --map INPUTS (a JSON-lines file, or - for stdin), each line is one input: a JSON array",
    "of arguments, or one non-array value as the only argument. One JSON line per input prints on",
    'stdout, in input order: {"input":0,"ok":true,"value":…} ("value_text" for what JSON cannot',
    'hold) or {"input":1,"ok":false,"error":{"code","name","message","stack"}}. Progress shows on',
    "stderr: redrawn in place on a terminal, plain lines otherwise. Exit code 1 when an input failed.",
  ].join("\n"),
  options: {
    map: { type: "string", value: "INPUTS", help: "run once per line of INPUTS (JSON lines; - for stdin)" },
    app: { type: "string", value: "NAME", help: "the app of FUNCTION, when FILE defines several that have it" },
  },
  minArgs: 1,
  maxArgs: Infinity,
  async run({ values, positionals: [spec, ...rawArgs] }) {
    const separator = spec.lastIndexOf("::");
    if (separator <= 0 || separator === spec.length - 2) {
      throw new UsageError(`"${spec}" is not FILE::FUNCTION`, commandHelp(runCommand));
    }
    const path = spec.slice(0, separator);
    const name = spec.slice(separator + 2);
    const source = values.map as string | undefined;
    if (source !== undefined && rawArgs.length > 0) {
      throw new UsageError("with --map, the arguments come from INPUTS, not the command line", commandHelp(runCommand));
    }
    const inputs = source === undefined ? undefined : await mapInputs(source);
    await importUserModule(path);
    const { fn, method } = findUserFunction(path, name, values.app as string | undefined);
    if (inputs && fn.isGenerator) {
      throw new UsageError(`${fn.name} is a generator function: run it without --map`, commandHelp(runCommand));
    }
    const progress = inputs ? new ProgressLine(`${fn.name} map`) : undefined;
    const client = cliClient(values, (line) => {
      const print = () => console.error(logLineText(line));
      if (progress) progress.print("stderr", print);
      else print();
    });
    try {
      const version = await client.registerApp(await bundleApp(fn.appName, appFunctions(fn.appName)));
      const target: CallTarget = { version, functionName: fn.name, method, params: [] };
      if (inputs) return await runMap(client, target, inputs, progress!);
      const args = rawArgs.map(argumentValue);
      try {
        if (fn.isGenerator) {
          for await (const item of client.callStream(target, args)) console.log(valueText(item));
        } else {
          const result = await client.call(target, args);
          if (result !== undefined) console.log(valueText(result));
        }
        return 0;
      } catch (err) {
        console.error(`error: ${errorText(err)}`);
        return callExitCode(err);
      }
    } finally {
      client.close();
    }
  },
};
