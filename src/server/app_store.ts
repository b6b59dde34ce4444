/**
 * Registered app versions on disk, one folder each under `<data-dir>/apps/<version>/`: the shipped
 * files, a `meta.json`, and the generated worker entry. Loaded again when the server starts.
 */
import { join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { FunctionSpec, RegisterAppRequest } from "../wire/proto.ts";

/** One stored app version. */
export interface AppVersion {
  name: string;
  version: string;
  functions: Map<string, FunctionSpec>;
  /** File URL of the stored files' folder, ending in "/". */
  filesUrl: string;
  /** File URL of the caller's folder the files came from. */
  sourceRoot: string;
  /** File URL of the generated worker entry module. */
  workerEntry: string;
  /** The folder holding everything of this version. */
  dir: string;
  registeredAt: number;
}

interface Meta {
  app_name: string;
  version: string;
  functions: FunctionSpec[];
  source_root: string;
  registered_at: number;
}

const workerMain = new URL("../sandbox/worker_main.ts", import.meta.url).href;

/** The app versions this server holds. */
export class AppStore {
  readonly appsDir: string;
  #versions = new Map<string, AppVersion>();
  #latest = new Map<string, AppVersion>();

  constructor(dataDir: string) {
    this.appsDir = join(dataDir, "apps");
  }

  /** Reads every stored version; a folder without a readable meta.json is a half-written one. */
  async load(): Promise<void> {
    await Deno.mkdir(this.appsDir, { recursive: true, mode: 0o700 });
    for await (const entry of Deno.readDir(this.appsDir)) {
      if (entry.isDirectory && entry.name.startsWith(".staging-")) {
        // Left by a registration that was cut short (a crash): never published, safe to drop.
        await Deno.remove(join(this.appsDir, entry.name), { recursive: true });
        continue;
      }
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const dir = join(this.appsDir, entry.name);
      const meta = JSON.parse(await Deno.readTextFile(join(dir, "meta.json"))) as Meta;
      this.#add(toAppVersion(dir, meta));
    }
  }

  has(version: string): boolean {
    return this.#versions.has(version);
  }

  get(version: string): AppVersion | undefined {
    return this.#versions.get(version);
  }

  /** The version a call names (or its app's latest); NOT_FOUND or INVALID_ARGUMENT otherwise. */
  find(version: string, appName: string): AppVersion {
    const app = version ? this.get(version) : this.latest(appName);
    if (app) return app;
    if (!version && !appName) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, "a call names no app version and no app");
    }
    throw new StupidModalError(
      Code.NOT_FOUND,
      version ? `no app version ${version} is registered` : `no app named "${appName}" is registered`,
    );
  }

  /** The latest version of every app. */
  latestVersions(): AppVersion[] {
    return [...this.#latest.values()];
  }

  /** The most recently registered version of an app. */
  latest(name: string): AppVersion | undefined {
    return this.#latest.get(name);
  }

  /** Writes a new version into a staging folder; `publish` makes it visible. */
  async stage(request: RegisterAppRequest): Promise<StagedVersion> {
    const dir = await Deno.makeTempDir({ dir: this.appsDir, prefix: ".staging-" });
    try {
      for (const file of request.files) {
        const path = join(dir, "files", file.path);
        await Deno.mkdir(join(path, ".."), { recursive: true });
        await Deno.writeFile(path, file.content);
      }
      const imports = request.functions.map((fn) => `import ${JSON.stringify(`./files/${fn.module}`)};`);
      const entry = [`import ${JSON.stringify(workerMain)};`, ...new Set(imports)].join("\n") + "\n";
      await Deno.writeTextFile(join(dir, "worker.ts"), entry);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
    const meta: Meta = {
      app_name: request.app_name,
      version: request.version,
      functions: request.functions,
      source_root: request.source_root,
      registered_at: Date.now(),
    };
    return new StagedVersion(this, dir, meta);
  }

  /** Moves a staged version into place, atomically, and makes it the app's latest. */
  async publish(staged: StagedVersion): Promise<AppVersion> {
    const dir = join(this.appsDir, staged.meta.version);
    await Deno.writeTextFile(join(staged.dir, "meta.json"), JSON.stringify(staged.meta));
    await Deno.rename(staged.dir, dir);
    const app = toAppVersion(dir, staged.meta);
    this.#add(app);
    return app;
  }

  #add(app: AppVersion): void {
    this.#versions.set(app.version, app);
    const latest = this.#latest.get(app.name);
    if (!latest || latest.registeredAt <= app.registeredAt) this.#latest.set(app.name, app);
  }
}

/** The spec of one of an app version's functions; NOT_FOUND naming the ones it has otherwise. */
export function requireFunction(app: AppVersion, functionName: string): FunctionSpec {
  const spec = app.functions.get(functionName);
  if (spec) return spec;
  const known = [...app.functions.keys()].join(", ");
  throw new StupidModalError(Code.NOT_FOUND, `app "${app.name}" has no function "${functionName}" (it has: ${known})`);
}

/** A version written to disk but not yet visible. */
export class StagedVersion {
  constructor(readonly store: AppStore, readonly dir: string, readonly meta: Meta) {}

  /** The file URL of the staged files' folder. */
  get filesUrl(): string {
    return `file://${join(this.dir, "files")}/`;
  }

  /** Removes the staging folder (after a failed check). */
  async discard(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

function toAppVersion(dir: string, meta: Meta): AppVersion {
  return {
    name: meta.app_name,
    version: meta.version,
    functions: new Map(meta.functions.map((fn) => [fn.name, fn])),
    filesUrl: `file://${join(dir, "files")}/`,
    sourceRoot: meta.source_root,
    workerEntry: `file://${join(dir, "worker.ts")}`,
    dir,
    registeredAt: meta.registered_at,
  };
}
