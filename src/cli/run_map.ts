/**
 * `run FILE::FUNCTION --map INPUTS`: one call per line of a JSON-lines file (or stdin), results
 * printed in input order as JSON lines, progress on stderr.
 */
import type { CallTarget, Client } from "../../client.ts";
import { fanOut, type StartCall } from "../sdk/fan_out.ts";
import { StupidModalError } from "../wire/errors.ts";
import { errorFields } from "./error_text.ts";
import { callExitCode, CliError, ExitCode } from "./exit_codes.ts";
import type { ProgressLine } from "./progress_line.ts";
import { userPath } from "./user_module.ts";
import { valueFields } from "./value_text.ts";

/** The inputs of a map, read before anything runs (a file) or as they come (stdin, "-"). */
export interface MapInputs {
  /** How many inputs there are, when known in advance. */
  total: number | undefined;
  /** Each input's arguments. */
  lines: AsyncIterable<unknown[]>;
}

/**
 * Opens a map's inputs: each non-empty line is a JSON array of arguments, or one non-array value
 * as the only argument. A file is read at once (so its total is known); "-" reads stdin.
 *
 * @example
 * ```ts
 * const inputs = await mapInputs("inputs.jsonl");
 * ```
 */
export async function mapInputs(source: string): Promise<MapInputs> {
  if (source === "-") return { total: undefined, lines: parsedLines("stdin", textLines(Deno.stdin.readable)) };
  let text: string;
  try {
    text = await Deno.readTextFile(userPath(source));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new CliError(ExitCode.NOT_FOUND, `no such file: ${source}`);
    throw new CliError(ExitCode.DENIED, `cannot read ${source}: ${(err as Error).message}`, { cause: err });
  }
  const lines = text.split("\n");
  const total = lines.filter((line) => line.trim() !== "").length;
  return { total, lines: parsedLines(source, lines) };
}

/**
 * Runs the map and prints one JSON line per input, in input order: `{"input":0,"ok":true,"value":…}`
 * (`value_text` instead of `value` for what JSON cannot hold) or
 * `{"input":1,"ok":false,"error":{"code","name","message","stack"}}`. Resolves with exit code 1
 * when an input failed. Failing to reach or use the server ends the map with that error.
 *
 * @example
 * ```ts
 * const code = await runMap(client, { version, functionName: "add" }, inputs, progress);
 * ```
 */
export async function runMap(
  client: Client,
  target: CallTarget,
  inputs: MapInputs,
  progress: ProgressLine,
): Promise<number> {
  progress.total = inputs.total;
  const start: StartCall = (args, signal, mapId) =>
    client.call({ ...target, mapId }, args, signal).then(
      (value) => {
        progress.settled(false);
        return value;
      },
      (err) => {
        progress.settled(true);
        throw err;
      },
    );
  const lines = counted(inputs.lines, (count) => progress.total = count);
  let index = 0;
  let failed = 0;
  progress.start();
  try {
    for await (const outcome of fanOut(lines[Symbol.asyncIterator](), start, { returnExceptions: true })) {
      let line: Record<string, unknown>;
      if (outcome instanceof StupidModalError) {
        if (callExitCode(outcome) !== ExitCode.FAILED) throw outcome;
        failed++;
        line = { input: index, ok: false, error: errorFields(outcome) };
      } else {
        line = { input: index, ok: true, ...valueFields(outcome) };
      }
      index++;
      progress.print("stdout", () => console.log(JSON.stringify(line)));
    }
  } finally {
    progress.finish();
  }
  return failed > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/** Passes inputs through, and reports how many there were once they end. */
async function* counted<T>(items: AsyncIterable<T>, onEnd: (count: number) => void): AsyncGenerator<T> {
  let count = 0;
  for await (const item of items) {
    count++;
    yield item;
  }
  onEnd(count);
}

async function* parsedLines(
  source: string,
  lines: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<unknown[]> {
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new CliError(ExitCode.USAGE, `${source} line ${number} is not JSON: ${(err as Error).message}`);
    }
    yield Array.isArray(value) ? value : [value];
  }
}

async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    yield* lines;
  }
  if (buffered) yield buffered;
}
