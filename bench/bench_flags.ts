/** The benchmark's command line: `--quick`, `--json[=PATH]`, `--help`. */
import { parseArgs } from "node:util";

/** Parsed flags. */
export interface BenchFlags {
  quick: boolean;
  /** Where `--json` writes the rows: "-" for stdout; undefined without `--json`. */
  json: string | undefined;
  help: boolean;
}

/** The text of `--help`. */
export const benchHelp = `Stupid Modal benchmarks: our server against bare gRPC (B1) and bare deno run (B2).

Usage: deno task bench [--quick] [--json[=PATH]]

  --quick        fewer repetitions: under a minute (the full run stays under three)
  --json         write the rows as a JSON array to stdout (the table goes to stderr)
  --json=PATH    write the rows as a JSON array to PATH
  --help         show this text

Figures never make the exit status non-zero; only a crash does.
`;

/**
 * Parses the command line; throws on an unknown flag.
 *
 * @example
 * ```ts
 * const flags = parseBenchFlags(["--quick", "--json=out.json"]);
 * ```
 */
export function parseBenchFlags(args: string[]): BenchFlags {
  // parseArgs has no optional-value flags: a bare --json means "to stdout".
  const normalized = args.map((arg) => arg === "--json" ? "--json=-" : arg);
  const { values } = parseArgs({
    args: normalized,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.json === "") throw new Error("--json= needs a path, or use --json alone for stdout");
  return { quick: values.quick, json: values.json, help: values.help };
}
