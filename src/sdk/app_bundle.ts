/** Collects an app's code for shipping: each function's module and the local modules they import. */
import { appVersion } from "../wire/app_version.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { importSpecifiers, isLocalSpecifier } from "../wire/import_specifiers.ts";
import type { FunctionSpec, RegisterAppRequest, ScheduleMessage, SourceFile } from "../wire/proto.ts";
import { retryPolicy, type ScheduleOptions } from "./function_options.ts";
import type { DefinedFunction } from "./function_registry.ts";

/** Builds the RegisterApp request of an app: its files, function specs and content hash. */
export async function bundleApp(
  appName: string,
  functions: DefinedFunction[],
): Promise<RegisterAppRequest> {
  if (functions.length === 0) {
    throw new StupidModalError(Code.FAILED_PRECONDITION, `app "${appName}" defines no functions`);
  }
  const root = commonDirectory(functions.map((fn) => fn.moduleUrl));
  const files = await collectFiles(functions.map((fn) => fn.moduleUrl), root);
  const specs: FunctionSpec[] = functions.map((fn) => functionSpec(fn, root));
  return {
    app_name: appName,
    version: await appVersion(appName, files, specs),
    files,
    functions: specs,
    source_root: root,
  };
}

/** A defined function as the wire describes it. */
function functionSpec(fn: DefinedFunction, root: string): FunctionSpec {
  const retries = retryPolicy(fn.options.retries);
  return {
    name: fn.name,
    module: fn.moduleUrl.slice(root.length),
    permissions: {
      read: fn.options.permissions?.read ?? [],
      write: fn.options.permissions?.write ?? [],
      net: fn.options.permissions?.net ?? [],
      env: fn.options.permissions?.env ?? [],
    },
    timeout_ms: fn.options.timeoutMs ?? 0,
    memory_mb: fn.options.memoryMb ?? 0,
    min_workers: fn.options.minWorkers ?? 0,
    max_workers: fn.options.maxWorkers ?? 0,
    scaledown_window_ms: fn.options.scaledownWindowMs ?? 0,
    max_retries: retries.maxRetries,
    retry_initial_delay_ms: retries.initialDelayMs,
    retry_backoff_coefficient: retries.backoffCoefficient,
    retry_max_delay_ms: retries.maxDelayMs,
    is_class: fn.isClass ?? false,
    is_generator: fn.isGenerator ?? false,
    max_inputs: fn.options.maxInputs ?? 0,
    secrets: fn.options.secrets ?? [],
    schedule: scheduleSpec(fn.options.schedule),
    web: fn.options.web ? { method: fn.options.web === true ? "POST" : fn.options.web.method } : null,
  };
}

function scheduleSpec(schedule: ScheduleOptions | undefined): ScheduleMessage | null {
  if (!schedule) return null;
  return "cron" in schedule ? { cron: schedule.cron, every_ms: 0 } : { cron: "", every_ms: schedule.everyMs };
}

async function collectFiles(entries: string[], root: string): Promise<SourceFile[]> {
  const files = new Map<string, SourceFile>();
  const pending = [...entries];
  while (pending.length > 0) {
    const url = pending.pop()!;
    const path = url.slice(root.length);
    if (files.has(path)) continue;
    const content = await readModule(url);
    files.set(path, { path, content });
    for (const specifier of importSpecifiers(new TextDecoder().decode(content))) {
      if (!isLocalSpecifier(specifier)) continue;
      const target = new URL(specifier, url).href;
      if (!target.startsWith(root)) {
        throw new StupidModalError(
          Code.INVALID_ARGUMENT,
          `${url} imports "${specifier}", outside the app's folder ${root}: keep an app's modules ` +
            `under one folder, and import the SDK as "stupid-modal"`,
        );
      }
      pending.push(target);
    }
  }
  return [...files.values()];
}

async function readModule(url: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(new URL(url));
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) {
      throw new StupidModalError(
        Code.PERMISSION_DENIED,
        `cannot read ${url} to ship the app's code: give this process read access to its own ` +
          `source files (for example --allow-read=app)`,
        { cause: err },
      );
    }
    throw new StupidModalError(Code.NOT_FOUND, `cannot read module ${url}: ${err}`, { cause: err });
  }
}

/** The deepest folder (as a file URL ending in "/") that holds every given module. */
function commonDirectory(urls: string[]): string {
  let prefix = urls[0].slice(0, urls[0].lastIndexOf("/") + 1);
  for (const url of urls) {
    while (!url.startsWith(prefix)) prefix = prefix.slice(0, prefix.lastIndexOf("/", prefix.length - 2) + 1);
  }
  return prefix;
}
