/**
 * Registering an app version, like building an image: check the request, its permissions against
 * the grants and its imports against the npm allowlist, then resolve and cache its npm packages so
 * executors never fetch code while serving.
 */
import { dirname, join, posix } from "node:path";
import { appVersion } from "../wire/app_version.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { isAppName, isFunctionName } from "../wire/names.ts";
import { moduleImports } from "./module_imports.ts";
import type { FunctionSpec, RegisterAppRequest } from "../wire/proto.ts";
import type { AppStore, AppVersion, StagedVersion } from "./app_store.ts";
import { type Grants, workerPermissions } from "./grants.ts";
import { standalone } from "../sandbox/standalone.ts";
import { checkSchedule } from "./schedules.ts";

/** What registration checks against. */
export interface RegistrationPolicy {
  grants: Grants;
  cwd: string;
  /** npm package names functions may import; empty allows none. */
  npmAllow: string[];
  maxPayloadBytes: number;
  /** The largest timeout and heap a function may ask for. */
  maxTimeoutMs: number;
  maxFunctionMemoryMb: number;
  /** The default cap on one function's executors, which minWorkers may not exceed. */
  maxExecutorsPerFunction: number;
  /** The Deno config executors run with (import map, node_modules). */
  configPath: string;
}

const invalid = (message: string) => new StupidModalError(Code.INVALID_ARGUMENT, message);

/**
 * Checks, stores and caches one app version; a version already held is returned as it is. Only a
 * request whose content matches its version joins another registration of that version in flight.
 */
export async function registerApp(
  request: RegisterAppRequest,
  store: AppStore,
  policy: RegistrationPolicy,
  inFlight: Map<string, Promise<AppVersion>>,
): Promise<AppVersion> {
  const held = store.get(request.version);
  if (held) return held;
  const needsCache = await checkRequest(request, policy);
  // Another registration of this version may have finished while this one was checked.
  const stored = store.get(request.version);
  if (stored) return stored;
  let pending = inFlight.get(request.version);
  if (!pending) {
    pending = storeVersion(request, store, policy, needsCache).finally(() => inFlight.delete(request.version));
    inFlight.set(request.version, pending);
  }
  return await pending;
}

async function storeVersion(
  request: RegisterAppRequest,
  store: AppStore,
  policy: RegistrationPolicy,
  needsCache: boolean,
) {
  const staged = await store.stage(request);
  try {
    await prepareVersion(staged, policy.configPath, needsCache);
    return await store.publish(staged, request.files);
  } catch (err) {
    await staged.discard();
    throw err;
  }
}

/**
 * Refuses a request that asks for what it may not have; tells whether its code needs `deno cache`
 * (npm packages to install, or a module the parser could not vouch for).
 */
async function checkRequest(request: RegisterAppRequest, policy: RegistrationPolicy): Promise<boolean> {
  // An unset message arrives as null: a function sent without Permissions asks for none.
  for (const fn of request.functions) fn.permissions ??= { read: [], write: [], net: [], env: [] };
  if (!isAppName(request.app_name)) {
    throw invalid(`app name "${request.app_name}" must be 1–63 letters, digits, ".", "_" or "-"`);
  }
  if (!request.source_root.startsWith("file:///")) throw invalid("source_root must be a file URL");
  const paths = new Set<string>();
  let total = 0;
  for (const file of request.files) {
    if (!isSafePath(file.path)) throw invalid(`file path "${file.path}" must be relative and stay inside the app`);
    if (paths.has(file.path)) throw invalid(`file "${file.path}" is shipped twice`);
    const folders = file.path.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    const clash = request.files.find((other) => folders.includes(other.path));
    if (clash) throw invalid(`"${clash.path}" is shipped both as a file and as the folder of "${file.path}"`);
    paths.add(file.path);
    total += file.content.byteLength;
  }
  if (total > policy.maxPayloadBytes) {
    throw new StupidModalError(
      Code.RESOURCE_EXHAUSTED,
      `the app's code is ${total} bytes, over the server's limit of ${policy.maxPayloadBytes} bytes`,
    );
  }
  const expected = await appVersion(request.app_name, request.files, request.functions);
  if (expected !== request.version) {
    throw invalid(`version ${request.version} does not match the content, whose hash is ${expected}`);
  }
  if (request.functions.length === 0) throw invalid("the app defines no functions");
  const names = new Set<string>();
  for (const fn of request.functions) {
    if (!isFunctionName(fn.name)) throw invalid(`function name "${fn.name}" is not an identifier`);
    if (names.has(fn.name)) throw invalid(`two functions are named "${fn.name}"`);
    names.add(fn.name);
    if (!paths.has(fn.module)) {
      throw invalid(`function "${fn.name}" is defined in "${fn.module}", which was not shipped`);
    }
    checkLimits(fn, policy);
    checkPoolAndRetries(fn, policy);
    workerPermissions(fn.name, fn.permissions, policy.grants, policy.cwd);
    checkSchedule(fn);
    checkWebEndpoint(fn);
  }
  let needsCache = false;
  for (const file of request.files) {
    if (await checkImports(file.path, new TextDecoder().decode(file.content), paths, policy)) needsCache = true;
  }
  return needsCache;
}

async function checkImports(
  path: string,
  source: string,
  shipped: Set<string>,
  policy: RegistrationPolicy,
): Promise<boolean> {
  if (path.endsWith(".json")) {
    // `deno cache` lets a broken JSON module through; its first load would fail.
    const problem = jsonProblem(source);
    if (problem) throw invalid(`the app's code does not load: ${path} is not valid JSON (${problem})`);
    return false;
  }
  // Computed import() calls are harmless here: at run time they meet the sandbox's own permissions.
  const imports = await moduleImports(path, source);
  let needsCache = !imports.parsed;
  for (const specifier of imports.specifiers) {
    if (specifier === "stupid-modal" || specifier.startsWith("node:")) continue;
    if (specifier.startsWith("./") || specifier.startsWith("../")) {
      const target = posix.normalize(posix.join(posix.dirname(path), specifier));
      if (!shipped.has(target)) throw invalid(`${path} imports "${specifier}", which was not shipped with the app`);
      continue;
    }
    if (specifier.startsWith("npm:")) {
      const name = npmPackageName(specifier);
      if (standalone) {
        throw new StupidModalError(
          Code.FAILED_PRECONDITION,
          `${path} imports the npm package "${name}", but this server is a standalone binary, whose executors ` +
            `load only the npm packages built into it; serve this app with a server run by \`deno\` ` +
            `(\`deno task server\`)`,
        );
      }
      if (!policy.npmAllow.includes(name)) {
        throw new StupidModalError(
          Code.PERMISSION_DENIED,
          `${path} imports the npm package "${name}", which this server does not allow; ` +
            `the operator can allow it with --npm-allow=${name}`,
        );
      }
      needsCache = true;
      continue;
    }
    throw invalid(
      `${path} imports "${specifier}": a function may import local modules, npm: packages the server ` +
        `allows, node: built-ins and "stupid-modal"`,
    );
  }
  return needsCache;
}

function jsonProblem(source: string): string | undefined {
  try {
    JSON.parse(source);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A web endpoint answers once with JSON: a plain function, by POST or GET. */
function checkWebEndpoint(fn: FunctionSpec): void {
  if (!fn.web) return;
  if (fn.is_class || fn.is_generator) {
    throw invalid(
      `function "${fn.name}" is a ${fn.is_class ? "class" : "generator"}; only plain functions can be web endpoints`,
    );
  }
  if (!["", "POST", "GET"].includes(fn.web.method)) {
    throw invalid(`function "${fn.name}" has web method "${fn.web.method}"; it must be POST or GET`);
  }
}

/** A function's timeout and heap must be within what the operator allows (0 means the default). */
function checkLimits(fn: FunctionSpec, policy: RegistrationPolicy): void {
  if (fn.timeout_ms > policy.maxTimeoutMs) {
    throw invalid(
      `function "${fn.name}" asks for a ${fn.timeout_ms} ms timeout; this server allows at most ` +
        `${policy.maxTimeoutMs} ms (--max-timeout-ms)`,
    );
  }
  if (fn.memory_mb !== 0 && (fn.memory_mb < 16 || fn.memory_mb > policy.maxFunctionMemoryMb)) {
    throw invalid(
      `function "${fn.name}" asks for ${fn.memory_mb} MB of memory; this server allows 16 to ` +
        `${policy.maxFunctionMemoryMb} MB (--max-function-memory-mb)`,
    );
  }
}

/** Pool and retry settings must make sense; a maxWorkers above the server's cap is simply capped. */
function checkPoolAndRetries(fn: FunctionSpec, policy: RegistrationPolicy): void {
  const maxWorkers = fn.max_workers || policy.maxExecutorsPerFunction;
  if ((fn.min_workers ?? 0) > maxWorkers) {
    throw invalid(`function "${fn.name}" keeps ${fn.min_workers} workers warm but may have only ${maxWorkers}`);
  }
  if ((fn.max_inputs ?? 0) > 1000) {
    throw invalid(`function "${fn.name}" asks to run ${fn.max_inputs} inputs at once per executor; at most 1000`);
  }
  const retries = fn.max_retries ?? 0;
  if (retries > 10) throw invalid(`function "${fn.name}" asks for ${retries} retries; at most 10 are allowed`);
  const coefficient = fn.retry_backoff_coefficient ?? 0;
  if (retries > 0 && !(coefficient >= 1 && coefficient <= 100)) {
    throw invalid(`function "${fn.name}" has a retry backoff coefficient of ${coefficient}; it must be 1 to 100`);
  }
  for (
    const [field, value] of [["retry delay", fn.retry_initial_delay_ms], ["retry max delay", fn.retry_max_delay_ms]]
  ) {
    if ((value as number ?? 0) > policy.maxTimeoutMs) {
      throw invalid(`function "${fn.name}" has a ${field} of ${value} ms, over --max-timeout-ms`);
    }
  }
}

/** "npm:@scope/name@1/sub" → "@scope/name". */
export function npmPackageName(specifier: string): string {
  const rest = specifier.slice("npm:".length).replace(/^\//, "");
  const parts = rest.split("/");
  const name = rest.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : parts[0];
  return name.replace(/(.)@.*$/, "$1");
}

/** Plain relative paths of modules: letters, digits, "_", "-", "." and "/", never leaving the app. */
function isSafePath(path: string): boolean {
  return /^[\w.-]+(\/[\w.-]+)*$/.test(path) && posix.normalize(path) === path && !path.startsWith("../") &&
    !path.split("/").includes("..") && /\.(ts|tsx|js|jsx|mts|mjs|json)$/.test(path);
}

/**
 * `deno cache` the worker entry: parses every module and installs npm packages now. The version
 * gets a lockfile of its own (the runtime's, plus its packages), so executors start `--frozen`.
 * Code without npm packages that the registration's parser read cleanly skips the `deno cache`
 * process (~30 ms of a cold start): it has nothing to install, and its syntax was checked.
 */
export async function prepareVersion(staged: StagedVersion, configPath: string, needsCache = true): Promise<void> {
  // A standalone binary's executors load the runtime and packages built into it, and the app's
  // files from disk: there is nothing to cache (and no `deno` to cache it with, necessarily). A
  // syntax error then surfaces when the app first loads, as FAILED_PRECONDITION.
  if (standalone) return;
  const { dir, filesUrl } = staged;
  const sourceRoot = staged.meta.source_root;
  const lockPath = `${dir}/deno.lock`;
  await Deno.copyFile(join(dirname(configPath), "deno.lock"), lockPath).catch(() => {});
  if (!needsCache) return;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--quiet", `--lock=${lockPath}`, `--config=${configPath}`, `${dir}/worker.ts`],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (output.success) return;
  const message = new TextDecoder().decode(output.stderr).replaceAll(filesUrl, sourceRoot).trim();
  throw invalid(`the app's code does not load: ${message}`);
}
