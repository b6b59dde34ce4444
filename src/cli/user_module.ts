/**
 * Loads the user's module (its top level runs here, its `import.meta.main` block does not) and
 * finds the apps and functions it defined.
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { appFunctions, definedAppNames, type DefinedFunction } from "../sdk/function_registry.ts";
import { CliError, ExitCode } from "./exit_codes.ts";

/**
 * A path the user typed, made absolute. `deno task` runs in the folder of `deno.json` and keeps
 * the user's own working directory in INIT_CWD, so relative paths resolve against that.
 *
 * @example
 * ```ts
 * userPath("app/app.ts"); // "/home/me/project/app/app.ts"
 * ```
 */
export function userPath(path: string): string {
  return resolve(Deno.env.get("INIT_CWD") || Deno.cwd(), path);
}

/**
 * Imports a module by its path (relative to the user's working directory). A missing file is NOT_FOUND;
 * an error in the module's top level is the user's code failing.
 *
 * @example
 * ```ts
 * await importUserModule("app/app.ts");
 * ```
 */
export async function importUserModule(path: string): Promise<void> {
  const absolute = userPath(path);
  try {
    const info = await Deno.stat(absolute);
    if (!info.isFile) throw new CliError(ExitCode.NOT_FOUND, `${path} is not a file`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof Deno.errors.NotFound) throw new CliError(ExitCode.NOT_FOUND, `no such file: ${path}`);
    throw new CliError(ExitCode.DENIED, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await import(pathToFileURL(absolute).href);
  } catch (err) {
    const detail = err instanceof Error ? withoutCliFrames(err.stack ?? err.message) : String(err);
    throw new CliError(ExitCode.FAILED, `importing ${path} failed: ${detail}`, { cause: err });
  }
}

/** The CLI's own source, whose stack frames say nothing about the user's error. */
const cliSources = [new URL("./", import.meta.url).href, new URL("../../cli.ts", import.meta.url).href];

function withoutCliFrames(stack: string): string {
  return stack.split("\n").filter((line) => !cliSources.some((source) => line.includes(source))).join("\n");
}

/**
 * The apps the imported module defined, or the one named by `--app`.
 *
 * @example
 * ```ts
 * for (const appName of chosenApps("app/app.ts", undefined)) console.log(appName);
 * ```
 */
export function chosenApps(path: string, appName: string | undefined): string[] {
  const defined = definedAppNames();
  if (defined.length === 0) {
    throw new CliError(ExitCode.NOT_FOUND, `${path} defines no functions (define them with app.function(...))`);
  }
  if (appName === undefined) return defined;
  if (!defined.includes(appName)) {
    throw new CliError(
      ExitCode.NOT_FOUND,
      `${path} defines no app named "${appName}" (it defines: ${defined.join(", ")})`,
    );
  }
  return [appName];
}

/**
 * The function `name` ("inference", or "Model.predict" for a class's method) among the chosen
 * apps' functions; NOT_FOUND naming the ones there are, or a usage error when two apps define it.
 *
 * @example
 * ```ts
 * const { fn, method } = findUserFunction("app/app.ts", "inference", undefined);
 * ```
 */
export function findUserFunction(
  path: string,
  name: string,
  appName: string | undefined,
): { fn: DefinedFunction; method?: string } {
  const [functionName, method, ...rest] = name.split(".");
  const candidates = chosenApps(path, appName).flatMap((app) => appFunctions(app));
  const found = candidates.filter((fn) => fn.name === functionName);
  if (found.length === 0 || rest.length > 0) {
    const known = candidates.map((fn) => fn.isClass ? `${fn.name}.METHOD` : fn.name).join(", ");
    throw new CliError(ExitCode.NOT_FOUND, `${path} defines no function "${name}" (it defines: ${known})`);
  }
  if (found.length > 1) {
    const apps = found.map((fn) => fn.appName).join(", ");
    throw new CliError(ExitCode.USAGE, `apps ${apps} all define "${functionName}": choose one with --app`);
  }
  const [fn] = found;
  if (fn.isClass && !method) {
    throw new CliError(ExitCode.USAGE, `${functionName} is a class: name a method, as ${functionName}.METHOD`);
  }
  if (!fn.isClass && method) {
    throw new CliError(ExitCode.NOT_FOUND, `${functionName} is a function, not a class: it has no method "${method}"`);
  }
  return { fn, method };
}
