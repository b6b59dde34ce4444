/** The benchmark's command line: `--quick`, `--only=CASES`, `--json[=PATH]`, `--help`. */
import { parseArgs } from "node:util";

/** Parsed flags. */
export interface BenchFlags {
  quick: boolean;
  /** Where `--json` writes the rows: "-" for stdout; undefined without `--json`. */
  json: string | undefined;
  help: boolean;
  /** The cases to run (`--only=warm,map`); undefined runs them all. */
  only: Set<BenchCase> | undefined;
}

/** The cases, in the order a run takes them. */
export const benchCases = ["warm", "footprint", "throughput", "map", "callers", "cold", "payload"] as const;
export type BenchCase = typeof benchCases[number];

/** The text of `--help`. */
export const benchHelp = `Stupid Modal benchmarks: our server against bare gRPC (B1) and bare deno run (B2).

Usage: deno task bench [--quick] [--only=CASE,...] [--json[=PATH]]

  --quick        fewer repetitions: under a minute (the full run stays under three)
  --only=CASES   run only these cases, comma-separated: ${benchCases.join(", ")}
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
      only: { type: "string" },
    },
  });
  if (values.json === "") throw new Error("--json= needs a path, or use --json alone for stdout");
  return { quick: values.quick, json: values.json, help: values.help, only: parseOnly(values.only) };
}

function parseOnly(list: string | undefined): Set<BenchCase> | undefined {
  if (list === undefined) return undefined;
  const only = new Set<BenchCase>();
  for (const name of list.split(",").map((part) => part.trim())) {
    if (!(benchCases as readonly string[]).includes(name)) {
      throw new Error(`--only: no case "${name}"; the cases are ${benchCases.join(", ")}`);
    }
    only.add(name as BenchCase);
  }
  return only;
}
