/**
 * Registered app versions and deployments. The store keeps each version's specs and files; a
 * folder per version under `<data-dir>/apps/<version>/` holds them ready to import, with the
 * generated worker entry and its npm lockfile, and is rebuilt from the store when missing.
 */
import { join } from "node:path";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { FunctionSpec, RegisterAppRequest, SourceFile } from "../wire/proto.ts";
import type { AppRecords, Deployment, VersionMeta } from "../store/app_records.ts";

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

type Meta = VersionMeta;

/** Makes a staged version's folder ready to run (resolves its npm packages). */
export type PrepareVersion = (staged: StagedVersion) => Promise<void>;

/** Where a cluster node shares what registers and deploys here (see src/cluster/cluster_apps.ts). */
export interface AppReplica {
  /** Shares a new version's code and specs; registration fails if this does. */
  published(meta: VersionMeta, files: SourceFile[]): Promise<void>;
  /** Shares a deploy or stop made here. */
  deployed(deployment: Deployment): void;
}

const workerMain = new URL("../sandbox/worker_main.ts", import.meta.url).href;

/** The app versions this server holds. */
export class AppStore {
  readonly appsDir: string;
  #versions = new Map<string, AppVersion>();
  #latest = new Map<string, AppVersion>();
  #deployments = new Map<string, Deployment>();
  #records: AppRecords;
  #listeners = new Set<(appName: string) => void>();
  /** Set on a cluster node. */
  replica: AppReplica | undefined;

  constructor(dataDir: string, records: AppRecords) {
    this.appsDir = join(dataDir, "apps");
    this.#records = records;
  }

  /** Loads every stored version and deployment; a version whose folder is gone is rebuilt. */
  async load(prepare: PrepareVersion): Promise<void> {
    await Deno.mkdir(this.appsDir, { recursive: true, mode: 0o700 });
    for await (const entry of Deno.readDir(this.appsDir)) {
      if (entry.isDirectory && entry.name.startsWith(".staging-")) {
        // Left by a registration that was cut short (a crash): never published, safe to drop.
        await Deno.remove(join(this.appsDir, entry.name), { recursive: true });
      }
    }
    for (const meta of this.#records.versions()) {
      const dir = join(this.appsDir, meta.version);
      const ready = await Deno.stat(join(dir, "ready")).then(() => true, () => false);
      if (!ready) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        const staged = await this.#write(meta, this.#records.files(meta.version));
        await prepare(staged);
        await Deno.writeTextFile(join(staged.dir, "ready"), "");
        await Deno.rename(staged.dir, dir);
      }
      this.#add(toAppVersion(dir, meta));
    }
    for (const deployment of this.#records.deployments()) this.#deployments.set(deployment.appName, deployment);
  }

  has(version: string): boolean {
    return this.#versions.has(version);
  }

  get(version: string): AppVersion | undefined {
    return this.#versions.get(version);
  }

  /**
   * The version a call names; or by app name its deployed version, or for an app never deployed
   * its latest registered one. NOT_FOUND, FAILED_PRECONDITION or INVALID_ARGUMENT otherwise.
   */
  find(version: string, appName: string): AppVersion {
    const app = version ? this.get(version) : this.#byName(appName);
    if (app) return app;
    if (!version && !appName) {
      throw new StupidModalError(Code.INVALID_ARGUMENT, "a call names no app version and no app");
    }
    throw new StupidModalError(
      Code.NOT_FOUND,
      version ? `no app version ${version} is registered` : `no app named "${appName}" is registered`,
    );
  }

  /** The deployed version of every running app. */
  runningDeployments(): AppVersion[] {
    return [...this.#deployments.values()].filter((d) => !d.stopped).map((d) => this.get(d.version)!);
  }

  /** Every deployment, by app name. */
  deployments(): Deployment[] {
    return [...this.#deployments.values()];
  }

  /** One app's deployment, if it was ever deployed. */
  deployment(appName: string): Deployment | undefined {
    return this.#deployments.get(appName);
  }

  /** Makes `version` the deployed version of its app, and the app running. */
  deploy(appName: string, version: string): { deployment: Deployment; previous?: Deployment } {
    const app = this.get(version);
    if (!app || app.name !== appName) {
      throw new StupidModalError(Code.NOT_FOUND, `no version ${version} of app "${appName}" is registered`);
    }
    const previous = this.#deployments.get(appName);
    const deployment = {
      appName,
      version,
      stopped: false,
      deployedAt: Date.now(),
      deployCount: (previous?.deployCount ?? 0) + 1,
    };
    this.#records.saveDeployment(deployment);
    this.#deployments.set(appName, deployment);
    this.#changed(appName);
    this.replica?.deployed(deployment);
    return { deployment, previous };
  }

  /** Takes a deploy or stop made on another cluster node. */
  follow(deployment: Deployment): void {
    this.#records.saveDeployment(deployment);
    this.#deployments.set(deployment.appName, deployment);
    this.#changed(deployment.appName);
  }

  /** Knows a version registered on another cluster node; its files come with `materialize`. */
  adopt(meta: VersionMeta): AppVersion {
    const held = this.get(meta.version);
    if (held) return held;
    const app = toAppVersion(join(this.appsDir, meta.version), meta);
    this.#add(app);
    return app;
  }

  /** Whether a version's folder is ready to run here. */
  isReady(version: string): Promise<boolean> {
    return Deno.stat(join(this.appsDir, version, "ready")).then(() => true, () => false);
  }

  /** Writes a version's folder from its files (fetched from the cluster), prepares and keeps it. */
  async materialize(meta: VersionMeta, files: SourceFile[], prepare: PrepareVersion): Promise<AppVersion> {
    const dir = join(this.appsDir, meta.version);
    if (!await this.isReady(meta.version)) {
      const staged = await this.#write(meta, files);
      try {
        await prepare(staged);
        await Deno.writeTextFile(join(staged.dir, "ready"), "");
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await Deno.rename(staged.dir, dir);
      } catch (err) {
        await staged.discard();
        throw err;
      }
      this.#records.addVersion(meta, files);
    }
    return this.adopt(meta);
  }

  /** Calls `listener` with the app's name after each deploy and stop. */
  onDeploymentChange(listener: (appName: string) => void): void {
    this.#listeners.add(listener);
  }

  #changed(appName: string): void {
    for (const listener of this.#listeners) listener(appName);
  }

  /** Stops a deployed app; NOT_FOUND if it never was deployed. */
  stop(appName: string): Deployment {
    const deployment = this.#deployments.get(appName);
    if (!deployment) throw new StupidModalError(Code.NOT_FOUND, `app "${appName}" is not deployed`);
    const stopped = { ...deployment, stopped: true };
    this.#records.saveDeployment(stopped);
    this.#deployments.set(appName, stopped);
    this.#changed(appName);
    this.replica?.deployed(stopped);
    return stopped;
  }

  #byName(appName: string): AppVersion | undefined {
    const deployment = this.#deployments.get(appName);
    if (!deployment) return this.latest(appName);
    if (deployment.stopped) {
      throw new StupidModalError(
        Code.FAILED_PRECONDITION,
        `app "${appName}" is stopped; deploy it again to start it`,
      );
    }
    return this.get(deployment.version);
  }

  /** The most recently registered version of an app. */
  latest(name: string): AppVersion | undefined {
    return this.#latest.get(name);
  }

  /** Writes a new version into a staging folder; `publish` makes it visible. */
  stage(request: RegisterAppRequest): Promise<StagedVersion> {
    const meta: Meta = {
      app_name: request.app_name,
      version: request.version,
      functions: request.functions,
      source_root: request.source_root,
      registered_at: Date.now(),
    };
    return this.#write(meta, request.files);
  }

  async #write(meta: Meta, files: SourceFile[]): Promise<StagedVersion> {
    const dir = await Deno.makeTempDir({ dir: this.appsDir, prefix: ".staging-" });
    try {
      for (const file of files) {
        const path = join(dir, "files", file.path);
        await Deno.mkdir(join(path, ".."), { recursive: true });
        await Deno.writeFile(path, file.content);
      }
      const imports = meta.functions.map((fn) => `import ${JSON.stringify(`./files/${fn.module}`)};`);
      const entry = [`import ${JSON.stringify(workerMain)};`, ...new Set(imports)].join("\n") + "\n";
      await Deno.writeTextFile(join(dir, "worker.ts"), entry);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
    return new StagedVersion(this, dir, meta);
  }

  /**
   * Stores a staged version, moves its folder into place and makes it the app's latest. A version
   * already held keeps its folder (executors may be loading from it) and the staged one is dropped.
   */
  async publish(staged: StagedVersion, files: SourceFile[]): Promise<AppVersion> {
    const held = this.#versions.get(staged.meta.version);
    if (held) {
      await staged.discard();
      return held;
    }
    const dir = join(this.appsDir, staged.meta.version);
    await this.replica?.published(staged.meta, files);
    this.#records.addVersion(staged.meta, files);
    await Deno.writeTextFile(join(staged.dir, "ready"), "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
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
