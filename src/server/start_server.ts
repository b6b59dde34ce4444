/** Assembles and starts a server: store, scheduler, gRPC services, health and reflection. */
import { openCpuAffinity } from "../sandbox/cpu_affinity.ts";
import { resolve } from "node:path";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { Code } from "../wire/errors.ts";
import { packageDefinition, StupidModalService } from "../wire/proto.ts";
import { failed } from "../sandbox/call_outcome.ts";
import { AppStore } from "./app_store.ts";
import { prepareVersion } from "./app_registration.ts";
import { AppLogs } from "./app_logs.ts";
import { CallMonitor, type CallTrigger } from "./call_monitor.ts";
import { Secrets } from "./secrets.ts";
import { Database } from "../store/database.ts";
import { AppRecords } from "../store/app_records.ts";
import { CallRecords } from "../store/call_records.ts";
import { LogRecords } from "../store/log_records.ts";
import { SecretRecords } from "../store/secret_records.ts";
import { Authenticator, serverToken } from "./auth.ts";
import { AuditLog } from "./audit_log.ts";
import { TokenQuotas } from "./token_quotas.ts";
import { AuditRecords } from "../store/audit_records.ts";
import { TokenRecords } from "../store/token_records.ts";
import { resolveGrants } from "./grants.ts";
import { Scheduler } from "./scheduler.ts";
import { Schedules } from "./schedules.ts";
import { SpawnedCalls } from "./spawned_calls.ts";
import type { ServerConfig } from "./server_config.ts";
import { directSessionHandler, type ServiceContext, stupidModalHandlers } from "./service.ts";
import { routeStreams } from "./session_route.ts";
import { guardMalformed } from "./malformed_requests.ts";
import { decodeSessionRequest } from "../wire/session_request_codec.ts";
import { startWebServer, type WebServer } from "./web_server.ts";
import { ClusterNode } from "../cluster/cluster_node.ts";
import { mountDashboard } from "../dashboard/dashboard_routes.ts";
import { tokenIdentity } from "../dashboard/token_identity.ts";

/** A started server. */
export interface RunningServer {
  address: string;
  port: number;
  token: string;
  /** Set when the token was generated (by this start or an earlier one) and kept in this file. */
  tokenFile?: string;
  /** True when this start generated the token. */
  tokenGenerated: boolean;
  /** The web endpoints' base URL (`http://127.0.0.1:8080`); unset with `--web-port off`. */
  webUrl?: string;
  /** Stops accepting, lets in-flight calls finish within the grace period, stops every executor. */
  shutdown(): Promise<void>;
}

const runtimeRoot = resolve(new URL("../../", import.meta.url).pathname);
const loopback = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** At shutdown, how long ended sessions have to be read by their callers before connections are cut. */
const sessionsEndMs = 1000;

/** Starts a server as configured; `log` receives one line per call and lifecycle notes. */
export async function startServer(
  config: ServerConfig,
  log: (line: string) => void = console.log,
): Promise<RunningServer> {
  const tls = await readTls(config);
  if (!loopback.test(config.host) && !tls && !config.insecure) {
    throw new Error(
      `refusing to listen on ${config.host} without TLS; give --tls-cert and --tls-key, or pass --insecure ` +
        `to accept plaintext on the network`,
    );
  }
  if (config.insecure && !tls) {
    log(`WARNING: --insecure: plaintext gRPC and HTTP on ${config.host}; tokens and data travel unencrypted`);
  }
  if (config.defaultMemoryMb > config.maxMemoryMb) {
    throw new Error(
      `--default-memory-mb ${config.defaultMemoryMb} is over --max-memory-mb ${config.maxMemoryMb}: no executor could start`,
    );
  }
  const cwd = Deno.cwd();
  const dataDir = resolve(cwd, config.dataDir);
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 }).catch((err) => {
    throw new Error(`cannot use the data directory ${dataDir}: ${err.message}`);
  });
  const protectedPaths = [
    dataDir,
    ...["src", "server.ts", "client.ts", "mod.ts", "deno.json", "node_modules"].map((p) => resolve(runtimeRoot, p)),
  ];
  const grants = resolveGrants(
    { read: config.grantRead, write: config.grantWrite, net: config.grantNet, env: config.grantEnv },
    cwd,
    protectedPaths,
  );
  const database = await Database.open(dataDir, (err) => log(`ERROR: the store could not write: ${err.message}`));
  const configPath = resolve(runtimeRoot, "deno.json");
  const store = new AppStore(dataDir, new AppRecords(database));
  await store.load((staged) => prepareVersion(staged, configPath)).catch((err) => {
    database.close();
    throw new Error(`cannot load the apps of the data directory ${dataDir}: ${err.message}`);
  });
  // With --nats, a node of a cluster: apps, deployments, secrets, inputs and outcomes are shared.
  const cluster = config.nats
    ? await ClusterNode.join(config, store, (staged) => prepareVersion(staged, configPath), log).catch((err) => {
      database.close();
      throw err;
    })
    : undefined;
  const { token, file: tokenFile, generated } = await serverToken(config.token, dataDir);
  const secrets = new Secrets(new SecretRecords(database));
  await cluster?.shareSecrets(secrets);
  const monitor = new CallMonitor();
  const auth = new Authenticator(token, new TokenRecords(database));
  const audit = new AuditLog(new AuditRecords(database));
  const quotas = new TokenQuotas();
  const appLogs = new AppLogs(new LogRecords(database), () => database.commit());
  const socketDir = await executorSocketDir(dataDir);
  const affinity = config.cpuPlacement ? openCpuAffinity() : undefined;
  if (config.cpuPlacement && !affinity) log("cpu placement off: it needs Linux and --allow-ffi");
  const scheduler = new (cluster?.Scheduler ?? Scheduler)({
    grants,
    cwd,
    configPath,
    runtimeRoot,
    socketDir,
    maxPayloadBytes: config.maxPayloadBytes,
    maxExecutors: config.maxExecutors,
    maxMemoryMb: config.maxMemoryMb,
    maxExecutorsPerFunction: config.maxExecutorsPerFunction,
    maxQueuedInputs: config.maxQueuedInputs,
    defaultTimeoutMs: config.defaultTimeoutMs,
    defaultMemoryMb: config.defaultMemoryMb,
    scaledownMs: config.scaledownMs,
    cpuAffinity: affinity,
    log,
    secrets,
    appLogs,
    monitor,
    quotas,
    audit,
  });

  for (const app of store.runningDeployments()) scheduler.prewarm(app);

  // A message carries a call's arguments (at most --max-payload-mb) and its own fields.
  const maxMessageBytes = config.maxPayloadBytes + 1024 * 1024;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": -1,
  });
  const openSessions = new Set<() => void>();
  const spawned = new (cluster?.SpawnedCalls ?? SpawnedCalls)(
    config,
    new CallRecords(database),
    (call, args) =>
      scheduler.submit(store.find(call.version, ""), call.function, args, {
        label: call.id,
        trigger: call.trigger as CallTrigger,
      }),
    database,
  );
  const resumed = spawned.resume();
  if (resumed > 0) log(`resumed ${resumed} spawned calls that had not finished`);
  // Scheduled functions of running apps' deployed versions; follows deploys and stops.
  const schedules = new Schedules({ store, spawned, log });
  // On a cluster, the node holding the schedule lease fires them.
  if (cluster) await cluster.start(schedules);
  else schedules.start();
  const context: ServiceContext = {
    auth,
    store,
    scheduler,
    policy: {
      grants,
      cwd,
      npmAllow: config.npmAllow,
      maxPayloadBytes: config.maxPayloadBytes,
      maxTimeoutMs: config.maxTimeoutMs,
      // A function may not ask for more heap than all executors together may have.
      maxFunctionMemoryMb: Math.min(config.maxFunctionMemoryMb, config.maxMemoryMb),
      maxExecutorsPerFunction: config.maxExecutorsPerFunction,
      configPath,
    },
    log,
    openSessions,
    spawned,
    secrets,
    appLogs,
    monitor,
    audit,
    quotas,
    webPort: () => web?.port ?? 0,
  };
  // A request that is not a valid message is INVALID_ARGUMENT, not grpc-js's INTERNAL.
  const [service, handlers] = guardMalformed(
    // Session requests are read by hand: no generic objects per message, arguments as views.
    { ...StupidModalService, Session: { ...StupidModalService.Session, requestDeserialize: decodeSessionRequest } },
    stupidModalHandlers(context),
  );
  server.addService(service, handlers);
  const health = new HealthImplementation({ "": "SERVING", "stupidmodal.v1.StupidModal": "SERVING" });
  health.addToServer(server);
  new ReflectionService(packageDefinition).addToServer(server);

  const host = config.host.includes(":") && !config.host.startsWith("[") ? `[${config.host}]` : config.host;
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync(
      `${host}:${config.port}`,
      tls
        ? grpc.ServerCredentials.createSsl(
          // Without a client CA, grpc-js would hand the TLS server every system root as its CA list,
          // which Deno then offers to clients in a message too large for them: the server's own
          // chain stands in (no client certificate is asked for then).
          tls.clientCa ?? tls.cert,
          [{ cert_chain: tls.cert, private_key: tls.key }],
          tls.clientCa !== undefined,
        )
        : grpc.ServerCredentials.createInsecure(),
      (err, port) => err ? fail(err) : done(port),
    )
  );
  // Sessions past grpc-js's per-message machinery, where its internals allow (session_route.ts).
  const routed = routeStreams(
    server,
    StupidModalService.Session.path,
    directSessionHandler(context, {
      decode: decodeSessionRequest,
      encode: StupidModalService.Session.responseSerialize,
      maxMessageBytes,
    }),
  );
  if (!routed) log("sessions are served through grpc-js: its HTTP/2 server is not where session_route.ts looks");

  // Web endpoints (started below, on the same host): closed first, answered before the end.
  let web: WebServer | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      schedules.stop();
      health.setStatus("", "NOT_SERVING");
      health.setStatus("stupidmodal.v1.StupidModal", "NOT_SERVING");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const webClosed = web?.close();
      const drained = new Promise<void>((done) => server.tryShutdown(() => done()));
      const grace = new Promise<void>((done) => timer = setTimeout(done, config.graceMs));
      // A cluster node also finishes the inputs it took from the cluster (and stops taking more).
      await Promise.race([Promise.all([drained, webClosed, cluster?.drain()]), grace]);
      clearTimeout(timer);
      spawned.close();
      await scheduler.close(failed(Code.UNAVAILABLE, "the server is shutting down"));
      await cluster?.close();
      await webClosed;
      appLogs.close();
      audit.close();
      database.close();
      // Outputs of the calls just failed are written, then each session ends cleanly: its caller
      // has a second to read what is queued before connections are cut.
      for (const endSession of openSessions) endSession();
      const cutAt = Date.now() + sessionsEndMs;
      while (openSessions.size > 0 && Date.now() < cutAt) await new Promise((done) => setTimeout(done, 10));
      server.forceShutdown();
    })();

  if (config.webPort !== undefined) {
    try {
      web = startWebServer({
        hostname: config.host.replace(/^\[(.*)\]$/, "$1"),
        port: config.webPort,
        auth,
        store,
        scheduler,
        maxPayloadBytes: config.maxPayloadBytes,
        log,
        tls: tls && { cert: tls.cert.toString(), key: tls.key.toString() },
        routes: (router, closing) =>
          mountDashboard(router, {
            identify: tokenIdentity(auth),
            monitor,
            store,
            scheduler,
            appLogs,
            spawned,
            closing,
            log,
          }),
      });
    } catch (err) {
      await shutdown();
      throw new Error(`cannot serve web endpoints on ${host}:${config.webPort}: ${(err as Error).message}`);
    }
  }

  return {
    address: `${host}:${port}`,
    port,
    token,
    tokenFile,
    tokenGenerated: generated ?? false,
    webUrl: web?.url,
    shutdown,
  };
}

/** The TLS files the flags name, read; undefined without --tls-cert. A file that cannot be read is a start-up error. */
async function readTls(config: ServerConfig): Promise<{ cert: Buffer; key: Buffer; clientCa?: Buffer } | undefined> {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  const read = async (flag: string, path: string) => {
    try {
      return Buffer.from(await Deno.readFile(path));
    } catch (err) {
      throw new Error(`cannot read ${flag} ${path}: ${(err as Error).message}`);
    }
  };
  return {
    cert: await read("--tls-cert", config.tlsCert),
    key: await read("--tls-key", config.tlsKey),
    clientCa: config.tlsClientCa ? await read("--tls-client-ca", config.tlsClientCa) : undefined,
  };
}

/** A fresh folder for executors' sockets, inside the private data directory. */
async function executorSocketDir(dataDir: string): Promise<string> {
  const dir = resolve(dataDir, "sockets");
  // A Unix socket path must fit in 108 bytes; ours add 18.
  if (dir.length > 88) {
    throw new Error(`the data directory's path is too long for executor sockets (${dir}); choose a shorter --data-dir`);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
