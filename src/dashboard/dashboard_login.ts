/**
 * Who is asking: the login and logout forms, and each request's identity from its session cookie
 * (or, for scripts calling the API, an `Authorization: Bearer` header).
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import { readBoundedBody } from "../server/bounded_body.ts";
import type { DashboardSessions } from "./dashboard_sessions.ts";
import { htmlResponse, methodNotAllowed, redirect } from "./dashboard_responses.ts";
import { loginPage } from "./login_page.ts";
import { LoginThrottle } from "./login_throttle.ts";
import { clearedSessionCookie, readSessionCookie, sessionCookie } from "./session_cookie.ts";
import type { DashboardIdentity, IdentifyToken } from "./token_identity.ts";

/** A request's identity, and how to tell later (a live stream) whether it still holds. */
export interface Visitor {
  identity: DashboardIdentity;
  stillValid: () => boolean;
}

/** Login's largest form body. */
const maxFormBytes = 16 * 1024;

/**
 * Logs browsers in and out, and recognises them afterwards.
 *
 * @example
 * ```ts
 * const login = new DashboardLogin(identify, new DashboardSessions(), assetsVersion);
 * router.route("/login", (request, _params, client) => login.serveLogin(request, client.address));
 * const visitor = login.visitor(request); // undefined: not logged in
 * ```
 */
export class DashboardLogin {
  #identify: IdentifyToken;
  #sessions: DashboardSessions;
  #assetsVersion: string;
  #throttle: LoginThrottle;

  constructor(
    identify: IdentifyToken,
    sessions: DashboardSessions,
    assetsVersion: string,
    throttle = new LoginThrottle(),
  ) {
    this.#identify = identify;
    this.#sessions = sessions;
    this.#assetsVersion = assetsVersion;
    this.#throttle = throttle;
  }

  /** The request's identity: its session's, or its bearer token's; undefined for nobody. */
  visitor(request: Request): Visitor | undefined {
    const header = request.headers.get("authorization");
    if (header !== null) {
      const token = /^bearer /i.test(header) ? header.slice(7).trim() : "";
      const identity = this.#check(token);
      return identity ? { identity, stillValid: () => this.#check(token) !== undefined } : undefined;
    }
    const id = readSessionCookie(request);
    const session = this.#sessions.find(id);
    return session
      ? { identity: session.identity, stillValid: () => this.#sessions.find(id) !== undefined }
      : undefined;
  }

  /**
   * `GET /login` shows the form (or goes on, if logged in); `POST /login` checks the token, unless
   * `address` has had too many refused lately (429 then, with the seconds to wait).
   */
  async serveLogin(request: Request, address: string): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" || request.method === "HEAD") {
      const next = safeNext(url.searchParams.get("next"));
      if (this.visitor(request)) return redirect(next);
      return htmlResponse(loginPage({ next, assetsVersion: this.#assetsVersion }));
    }
    if (request.method !== "POST") return methodNotAllowed(request, ["GET", "POST"]);
    const refused = crossOrigin(request);
    if (refused) return refused;
    let form: URLSearchParams;
    try {
      if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get("content-type") ?? "")) {
        throw new StupidModalError(Code.INVALID_ARGUMENT, "the login form is application/x-www-form-urlencoded");
      }
      form = new URLSearchParams(new TextDecoder().decode(await readBoundedBody(request, maxFormBytes)));
    } catch (err) {
      return this.#form(400, "/", `The login could not be read: ${(err as Error).message}`);
    }
    const next = safeNext(form.get("next"));
    const token = (form.get("token") ?? "").trim();
    if (!token) return this.#form(400, next, "Enter a token.");
    const waitMs = this.#throttle.waitMs(address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return this.#form(429, next, `Too many refused logins from your address; try again in ${seconds} s.`, {
        "retry-after": String(seconds),
      });
    }
    let identity: DashboardIdentity;
    try {
      identity = this.#identify(token);
    } catch (err) {
      this.#throttle.refused(address);
      const error = StupidModalError.from(err);
      const status = error.code === Code.PERMISSION_DENIED ? 403 : 401;
      return this.#form(status, next, `That token was refused: ${error.message}.`);
    }
    this.#throttle.succeeded(address);
    const id = this.#sessions.open(identity, () => this.#check(token) !== undefined);
    const secure = url.protocol === "https:";
    return redirect(next, { "set-cookie": sessionCookie(id, this.#sessions.ttlMs / 1000, secure) });
  }

  /** `POST /logout` ends the session and forgets the cookie. */
  serveLogout(request: Request): Response {
    if (request.method !== "POST") return methodNotAllowed(request, ["POST"]);
    const refused = crossOrigin(request);
    if (refused) return refused;
    this.#sessions.close(readSessionCookie(request));
    const secure = new URL(request.url).protocol === "https:";
    return redirect("/login", { "set-cookie": clearedSessionCookie(secure) });
  }

  #form(status: number, next: string, error: string, headers?: HeadersInit): Response {
    return htmlResponse(loginPage({ next, error, assetsVersion: this.#assetsVersion }), status, headers);
  }

  #check(token: string): DashboardIdentity | undefined {
    if (!token) return undefined;
    try {
      return this.#identify(token);
    } catch {
      return undefined;
    }
  }
}

/**
 * Where to go after login: a path of this server only (never `//elsewhere` or a full URL), and
 * never back to the login.
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next === "/login" || next.startsWith("/login?") || [...next].some((char) => char < " ")) return "/";
  return next;
}

/**
 * A form post from another site is refused. Browsers send `Origin` with posts (this site's pages
 * set `Referrer-Policy: same-origin`, under which a same-origin post carries its origin); a client
 * that sends none is not a browser acting for someone else.
 */
function crossOrigin(request: Request): Response | undefined {
  const origin = request.headers.get("origin");
  if (origin === null || origin === new URL(request.url).origin) return undefined;
  return htmlResponse("<!doctype html><title>Refused</title><p>A form from another site cannot post here.</p>", 403);
}
