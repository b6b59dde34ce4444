/** The dashboard's session cookie: how it is set, cleared and read back. */

/** The cookie's name. */
export const sessionCookieName = "stupid_modal_session";

/**
 * A `Set-Cookie` value holding a session id: HttpOnly (no script reads it), SameSite=Strict (no
 * other site's page sends it), the whole origin's path, `Secure` when the page came over HTTPS.
 *
 * @example
 * ```ts
 * headers.append("set-cookie", sessionCookie(id, 3600, false));
 * ```
 */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${sessionCookieName}=${id}; Path=/; Max-Age=${Math.floor(maxAgeSeconds)}; HttpOnly; SameSite=Strict` +
    (secure ? "; Secure" : "");
}

/**
 * A `Set-Cookie` value that makes the browser forget the session cookie.
 *
 * @example
 * ```ts
 * headers.append("set-cookie", clearedSessionCookie(false));
 * ```
 */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}

/**
 * The session id a request's `Cookie` header carries, if any.
 *
 * @example
 * ```ts
 * readSessionCookie(new Request("http://x/", { headers: { cookie: "a=1; stupid_modal_session=abc" } })); // "abc"
 * ```
 */
export function readSessionCookie(request: Request): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === sessionCookieName) return part.slice(at + 1).trim() || undefined;
  }
  return undefined;
}
