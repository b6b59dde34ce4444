/**
 * `/apps/<app>/<function>`: calls a web-enabled function of a deployed, running app with the
 * JSON array of arguments of the request, and answers with its result's JSON.
 */
import { decodeValue, encodeValue } from "../wire/codec.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { FunctionSpec, RemoteErrorInfo } from "../wire/proto.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { AppStore, AppVersion } from "./app_store.ts";
import type { Authenticator, Identity } from "./auth.ts";
import type { Scheduler } from "./scheduler.ts";
import { readBoundedBody } from "./bounded_body.ts";
import { errorResponse, HttpError, jsonResponse, type RemoteErrorBody } from "./http_status.ts";
import { toJsonValue } from "./json_value.ts";
import type { RouteHandler } from "./web_router.ts";

/** What web endpoints need from the server. */
export interface WebEndpointContext {
  auth: Authenticator;
  store: AppStore;
  scheduler: Scheduler;
  /** The largest request body, and the largest arguments once encoded as CBOR. */
  maxPayloadBytes: number;
  /** Aborts when the server starts closing: bodies still arriving are refused with 503. */
  closing: AbortSignal;
}

/** The header that names a web call's id, as the app's logs show it. */
export const callIdHeader = "x-stupid-modal-call-id";

/**
 * The handler of the route `/apps/:app/:function`. It checks, in order: the bearer token (401),
 * that the app is deployed and running and has that function with `web` set (404), that it is a
 * plain function (501 for generators and classes), the method (405), the content type (415), the
 * body's size (413) and its JSON (400); then it calls the deployed version, cancels the call if
 * the client hangs up, and answers 200 with the result's JSON or an error status with a JSON body.
 *
 * @example
 * ```ts
 * router.route("/apps/:app/:function", webEndpointHandler(context));
 * ```
 */
export function webEndpointHandler(context: WebEndpointContext): RouteHandler {
  const { auth, store, scheduler, maxPayloadBytes, closing } = context;
  return async (request, params) => {
    const who = authenticate(auth, request);
    const { app, spec } = webFunction(store, params.app, params.function);
    const method = spec.web?.method || "POST";
    if (request.method !== method) {
      throw new HttpError(
        405,
        Code.UNIMPLEMENTED,
        `${app.name}.${spec.name} answers ${method} requests, not ${request.method}`,
        { allow: method },
      );
    }
    const args = method === "GET"
      ? parseArgs(new URL(request.url).searchParams.get("args") ?? "", "the query parameter args")
      : parseArgs(await bodyText(request, maxPayloadBytes, closing), "the request body");
    const encoded = encodeValue(args);
    if (encoded.byteLength > maxPayloadBytes) {
      throw new HttpError(
        413,
        Code.RESOURCE_EXHAUSTED,
        `the arguments are ${encoded.byteLength} bytes, over the server's limit of ${maxPayloadBytes} bytes`,
      );
    }
    const callId = `web-${crypto.randomUUID()}`;
    const running = scheduler.submit(app, spec.name, encoded, { label: callId, trigger: "web", identity: who });
    // Deno.serve also aborts the signal after a response is sent; by then the listener is gone.
    const hangUp = () => running.cancel();
    request.signal.addEventListener("abort", hangUp);
    let outcome: CallOutcome;
    try {
      if (request.signal.aborted) running.cancel();
      outcome = await running.outcome;
    } finally {
      request.signal.removeEventListener("abort", hangUp);
    }
    return answer(outcome, callId);
  };
}

/** Who bears the request's token; 401 with the challenge RFC 6750 asks for when nobody, 403 without "invoke". */
function authenticate(auth: Authenticator, request: Request): Identity {
  const header = request.headers.get("authorization");
  let who: Identity;
  try {
    who = auth.identify(header);
  } catch (err) {
    const challenge = header === null
      ? `Bearer realm="stupid-modal"`
      : `Bearer realm="stupid-modal", error="invalid_token"`;
    throw new HttpError(401, Code.UNAUTHENTICATED, (err as Error).message, { "www-authenticate": challenge });
  }
  if (!who.scopes.includes("invoke")) {
    throw new HttpError(403, Code.PERMISSION_DENIED, `the token "${who.name}" lacks the "invoke" scope`);
  }
  return who;
}

/** The deployed version of a running app and its web function; 404 or 501 otherwise. */
function webFunction(store: AppStore, appName: string, name: string): { app: AppVersion; spec: FunctionSpec } {
  const deployment = store.deployment(appName);
  if (!deployment) throw new StupidModalError(Code.NOT_FOUND, `no app named "${appName}" is deployed`);
  if (deployment.stopped) {
    throw new StupidModalError(Code.NOT_FOUND, `app "${appName}" is stopped; deploy it again to serve it`);
  }
  const app = store.get(deployment.version);
  const spec = app?.functions.get(name);
  if (!app || !spec?.web) {
    const served = [...(app?.functions.values() ?? [])].filter((fn) => fn.web).map((fn) => fn.name);
    const what = spec
      ? `function "${name}" of app "${appName}" is not a web endpoint (define it with web: true)`
      : `app "${appName}" has no function "${name}"`;
    throw new StupidModalError(Code.NOT_FOUND, `${what}; its web endpoints: ${served.join(", ") || "none"}`);
  }
  if (spec.is_generator || spec.is_class) {
    const hint = spec.is_generator ? "call it with remoteGen" : `call its methods with ${name}.remote.<method>`;
    throw new StupidModalError(
      Code.UNIMPLEMENTED,
      `${appName}.${name} is a ${spec.is_generator ? "generator" : "class"}: a web endpoint answers with one ` +
        `result of a plain function (${hint})`,
    );
  }
  return { app, spec };
}

/** The body as text, after checking its content type (JSON, or none said) and its size. */
async function bodyText(request: Request, limit: number, closing: AbortSignal): Promise<string> {
  const type = request.headers.get("content-type");
  const mediaType = type?.split(";")[0].trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== "application/json" && !mediaType.endsWith("+json")) {
    throw new HttpError(
      415,
      Code.INVALID_ARGUMENT,
      `the request body must be JSON (Content-Type: application/json), not ${type}`,
    );
  }
  const bytes = await readBoundedBody(request, limit, closing);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new StupidModalError(Code.INVALID_ARGUMENT, "the request body is not UTF-8 text");
  }
}

/** A JSON array of positional arguments; empty text means none. */
function parseArgs(text: string, what: string): unknown[] {
  if (text.trim() === "") return [];
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (err) {
    throw new StupidModalError(Code.INVALID_ARGUMENT, `${what} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(args)) {
    const got = args === null ? "null" : typeof args === "object" ? "an object" : `a ${typeof args}`;
    throw new StupidModalError(
      Code.INVALID_ARGUMENT,
      `${what} must be a JSON array of the function's arguments, like [3, 5]; got ${got}`,
    );
  }
  return args;
}

/** The HTTP answer of a call's outcome. */
function answer(outcome: CallOutcome, callId: string): Response {
  const headers = { [callIdHeader]: callId };
  if (outcome.failure) {
    const { code, message, remote } = outcome.failure;
    const response = errorResponse(new StupidModalError(code, message), remote ? remoteBody(remote) : undefined);
    response.headers.set(callIdHeader, callId);
    return response;
  }
  let result: unknown;
  try {
    result = decodeValue(outcome.value, "result");
  } catch (err) {
    throw new StupidModalError(Code.INTERNAL, `the function's result could not be read: ${(err as Error).message}`);
  }
  return jsonResponse(200, toJsonValue(result), headers);
}

/** A user exception for the error body; its cause as JSON when it had one that reads. */
function remoteBody(remote: RemoteErrorInfo): RemoteErrorBody {
  const body: RemoteErrorBody = { name: remote.name, message: remote.message, stack: remote.stack };
  if (remote.cause?.byteLength) {
    try {
      const cause = decodeValue(remote.cause, "cause");
      if (cause !== undefined) body.cause = toJsonValue(cause, "cause");
    } catch {
      // A cause that does not read (or contains itself) is left out; the message still says what happened.
    }
  }
  return body;
}
