/** The RPCs of access: named tokens (create, list, revoke) and the audit log. All need "admin". */
import type * as grpc from "@grpc/grpc-js";
import type { CreateTokenRequest, ListAuditRequest } from "../wire/proto.ts";
import { type Callback, unary } from "./grpc_status.ts";
import type { ServiceContext } from "./service.ts";

/** Builds the access handlers. */
export function accessHandlers(context: ServiceContext): grpc.UntypedServiceImplementation {
  const { auth, audit, log } = context;
  return {
    CreateToken(call: grpc.ServerUnaryCall<CreateTokenRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        const { name, scopes, max_concurrent_calls, max_queued_inputs } = call.request;
        const token = auth.create({ name, scopes, maxConcurrent: max_concurrent_calls, maxQueued: max_queued_inputs });
        log(`token ${name} created [${scopes.join(", ")}] by ${who.name}`);
        audit.record(who.name, "token.create", "", "", `${name} [${scopes.join(", ")}]`);
        return { token };
      }, log);
    },

    ListTokens(call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "admin");
        return { tokens: auth.list() };
      }, log);
    },

    RevokeToken(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        const who = auth.check(call.metadata, "admin");
        auth.revoke(call.request.name);
        log(`token ${call.request.name} revoked by ${who.name}`);
        audit.record(who.name, "token.revoke", "", "", call.request.name);
        return {};
      }, log);
    },

    ListAudit(call: grpc.ServerUnaryCall<ListAuditRequest, unknown>, callback: Callback<unknown>) {
      unary(callback, () => {
        auth.check(call.metadata, "admin");
        const limit = Math.min(call.request.limit || 100, 10_000);
        return { entries: audit.latest(limit, call.request.token) };
      }, log);
    },
  };
}
