/**
 * Every function defined with `app.function(...)` in this process, by app and name. The caller
 * reads it to ship the app; inside an executor, the sandbox reads it to find what to run.
 */
import type { FunctionOptions } from "./function_options.ts";

/** One defined function. */
export interface DefinedFunction {
  appName: string;
  name: string;
  options: FunctionOptions;
  /** The file URL of the module that defined it. */
  moduleUrl: string;
  /** Defined with `app.cls`: `implementation` is the class. */
  isClass?: boolean;
  /** A generator function: its calls stream what it yields. */
  isGenerator?: boolean;
  // deno-lint-ignore no-explicit-any
  implementation: (...args: any[]) => unknown;
}

const byApp = new Map<string, Map<string, DefinedFunction>>();

/** Adds a function; a second function with the same name in the same app is an error. */
export function defineFunction(fn: DefinedFunction): void {
  let functions = byApp.get(fn.appName);
  if (!functions) byApp.set(fn.appName, functions = new Map());
  const existing = functions.get(fn.name);
  if (existing) {
    throw new TypeError(
      `app "${fn.appName}" already has a function named "${fn.name}" (defined in ${existing.moduleUrl}); ` +
        `give one of them another name with the \`name\` option`,
    );
  }
  functions.set(fn.name, fn);
}

/** The functions of one app, in definition order. */
export function appFunctions(appName: string): DefinedFunction[] {
  return [...(byApp.get(appName)?.values() ?? [])];
}

/** The names of the apps that defined functions in this process, in the order they first did. */
export function definedAppNames(): string[] {
  return [...byApp.keys()];
}

/** Finds one function by name, whatever app defined it (an executor holds one app version). */
export function findFunction(name: string): DefinedFunction | undefined {
  for (const functions of byApp.values()) {
    const fn = functions.get(name);
    if (fn) return fn;
  }
  return undefined;
}
