/** The operator's RPCs: deploy and stop apps, list them, read their logs and calls, keep secrets. */
import type * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { AppInfo, AppLogEntry, AppLogsRequest, ListCallsRequest, SetSecretRequest } from "../wire/proto.ts";
import { asStatus, type Callback, unary } from "./grpc_status.ts";
import type { ServiceContext } from "./service.ts";

/** Builds the operator's handlers. */
export function operatorHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, store, scheduler, secrets, appLogs, spawned, log } = context;

  const appInfo = (appName: string): AppInfo => {
    const deployment = store.deployment(appName);
    if (!deployment) throw new StupidModalError(Code.NOT_FOUND, `app "${appName}" is not deployed`);
    const app = store.get(deployment.version)!;
    return {
      name: appName,
      version: deployment.version,
      state: deployment.stopped ? 1 : 0,
      deployed_at_ms: deployment.deployedAt,
      functions: [...app.functions.values()],
      deploy_count: deployment.deployCount,
    };
  };

  return {
    Deploy(call: grpc.ServerUnaryCall<{ app_name: string; version: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        const { app_name, version } = call.request;
        const app = store.get(version);
        if (!app || app.name !== app_name) {
          throw new StupidModalError(Code.NOT_FOUND, `no version ${version} of app "${app_name}" is registered`);
        }
        for (const spec of app.functions.values()) {
          const missing = secrets.missing(spec.secrets ?? []);
          if (missing !== undefined) {
            throw new StupidModalError(
              Code.FAILED_PRECONDITION,
              `function "${spec.name}" needs the secret "${missing}", which does not exist; ` +
                `create it first with: stupid-modal secret set ${missing} KEY=VALUE`,
            );
          }
        }
        const { deployment, previous } = store.deploy(app_name, version);
        scheduler.prewarm(app);
        log(`deployed ${app_name} version ${version.slice(0, 12)} (deploy #${deployment.deployCount}) by ${who.name}`);
        context.audit.record(who.name, "deploy", app_name, "", version);
        return { version, deployed_at_ms: deployment.deployedAt, previous_version: previous?.version ?? "" };
      }, log);
    },

    ListApps(call: grpc.ServerUnaryCall<{ app_name: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "invoke");
        const name = call.request.app_name;
        const apps = name ? [appInfo(name)] : store.deployments().map((d) => appInfo(d.appName));
        return { apps, web_port: context.webPort() };
      }, log);
    },

    StopApp(call: grpc.ServerUnaryCall<{ app_name: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        store.stop(call.request.app_name);
        scheduler.retire(call.request.app_name);
        log(`stopped ${call.request.app_name} by ${who.name}`);
        context.audit.record(who.name, "stop", call.request.app_name);
        return {};
      }, log);
    },

    AppLogs(stream: grpc.ServerWritableStream<AppLogsRequest, AppLogEntry>) {
      try {
        auth.check(stream.metadata, "admin");
      } catch (err) {
        stream.emit("error", asStatus(err, log));
        return;
      }
      const { app_name, tail, follow } = stream.request;
      // Tail and follow start in the same tick, so no line is missed or sent twice.
      for (const entry of appLogs.tail(app_name, tail || 100)) stream.write(entry);
      if (!follow) return stream.end();
      const unfollow = appLogs.follow(app_name, (entry) => stream.write(entry));
      stream.on("cancelled", unfollow);
      stream.on("close", unfollow);
    },

    ListCalls(call: grpc.ServerUnaryCall<ListCallsRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "admin");
        return { calls: spawned.list(call.request.app_name, Math.min(call.request.limit || 50, 10_000)) };
      }, log);
    },

    SetSecret(call: grpc.ServerUnaryCall<SetSecretRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        secrets.set(call.request.name, call.request.values);
        log(`secret ${call.request.name} set (${Object.keys(call.request.values).length} keys) by ${who.name}`);
        context.audit.record(who.name, "secret.set", "", "", call.request.name);
        return {};
      }, log);
    },

    ListSecrets(call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "admin");
        return { secrets: secrets.list() };
      }, log);
    },

    DeleteSecret(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        secrets.delete(call.request.name);
        log(`secret ${call.request.name} deleted by ${who.name}`);
        context.audit.record(who.name, "secret.delete", "", "", call.request.name);
        return {};
      }, log);
    },
  };
}
