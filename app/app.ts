/**
 * The demo: a linear model whose weights only the server may read. Run it with `deno task app`
 * (interactive), `deno task app 3 5`, or numbers on stdin. `.local()` fails for lack of read
 * permission; `.remote()` runs on the server, which grants `app/models`.
 *
 * @module
 */
import { App, StupidModalError } from "stupid-modal";
import { loadModel, predict } from "./linear_model.ts";

export const app = new App("demo");

/** y = w1·x1 + w2·x2 + bias, with weights read from app/models/weights.json. */
export const inference = app.function(
  { permissions: { read: ["app/models"] }, timeoutMs: 60_000, memoryMb: 512 },
  async function inference(x1: number, x2: number): Promise<number> {
    const model = await loadModel("app/models/weights.json");
    console.log(`loaded weights w1=${model.w1} w2=${model.w2} bias=${model.bias}`);
    return predict(model, x1, x2);
  },
);

/** Parses "3 5" or "3, 5" into two numbers, or says what is wrong. */
export function parseNumbers(line: string): [number, number] | string {
  const parts = line.trim().split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return "please type two numbers, for example: 3 5";
  if (parts.length !== 2) return `expected two numbers, got ${parts.length}: "${line.trim()}"`;
  const numbers = parts.map(Number);
  const bad = parts.find((part, i) => part === "" || !Number.isFinite(numbers[i]));
  if (bad !== undefined) return `"${bad}" is not a number`;
  return [numbers[0], numbers[1]];
}

async function runBoth(x1: number, x2: number): Promise<void> {
  try {
    const y = await inference.local(x1, x2);
    console.log(`local:  inference(${x1}, ${x2}) = ${y}`);
  } catch (err) {
    console.log(`local:  failed, as it should here: ${(err as Error).message}`);
  }
  try {
    const y = await inference.remote(x1, x2);
    console.log(`remote: inference(${x1}, ${x2}) = ${y}  (computed on the server)`);
  } catch (err) {
    const code = err instanceof StupidModalError ? ` [${err.code}]` : "";
    console.log(`remote: failed${code}: ${(err as Error).message}`);
  }
}

async function* lines(): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered.trim()) yield buffered;
}

async function main(): Promise<void> {
  Deno.addSignalListener("SIGINT", () => {
    console.log("\nbye");
    Deno.exit(0);
  });
  if (Deno.args.length > 0) {
    const parsed = parseNumbers(Deno.args.join(" "));
    if (typeof parsed === "string") {
      console.error(parsed);
      Deno.exitCode = 2;
    } else {
      await runBoth(...parsed);
    }
    return;
  }
  const interactive = Deno.stdin.isTerminal();
  const ask = () => interactive && Deno.stdout.writeSync(new TextEncoder().encode("x1 x2 (Ctrl+D to quit)> "));
  ask();
  for await (const line of lines()) {
    const parsed = parseNumbers(line);
    if (typeof parsed === "string") console.log(parsed);
    else await runBoth(...parsed);
    ask();
  }
  if (interactive) console.log("bye");
}

if (import.meta.main) {
  await main();
  await app.close();
}
