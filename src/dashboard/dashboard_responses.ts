/**
 * The dashboard's responses (HTML, JSON, redirects), each with headers that keep its pages to
 * their own origin: scripts, styles and connections from the server only, no framing, no caching
 * of data, no referrer to other sites.
 */

/** Everything a page may load comes from the server itself. */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * Headers every dashboard response carries.
 *
 * @example
 * ```ts
 * const headers = dashboardHeaders("text/html; charset=utf-8");
 * ```
 */
export function dashboardHeaders(contentType: string, cache = "no-store"): Headers {
  return new Headers({
    "content-type": contentType,
    "cache-control": cache,
    "content-security-policy": contentSecurityPolicy,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  });
}

/**
 * An HTML page.
 *
 * @example
 * ```ts
 * return htmlResponse("<!doctype html><title>x</title>");
 * ```
 */
export function htmlResponse(html: string, status = 200, headers?: HeadersInit): Response {
  const all = dashboardHeaders("text/html; charset=utf-8");
  for (const [name, value] of new Headers(headers)) all.append(name, value);
  return new Response(html, { status, headers: all });
}

/**
 * A JSON value.
 *
 * @example
 * ```ts
 * return jsonResponse({ apps: [] });
 * ```
 */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: dashboardHeaders("application/json") });
}

/**
 * A JSON error in the web endpoints' shape: `{ "error": { "code", "message" } }`.
 *
 * @example
 * ```ts
 * return jsonError(401, "UNAUTHENTICATED", "log in first");
 * ```
 */
export function jsonError(status: number, code: string, message: string, headers?: HeadersInit): Response {
  const response = jsonResponse({ error: { code, message } }, status);
  for (const [name, value] of new Headers(headers)) response.headers.append(name, value);
  return response;
}

/**
 * A 303 See Other to a path of the dashboard.
 *
 * @example
 * ```ts
 * return redirect("/login?next=%2Fui%2Fcalls");
 * ```
 */
export function redirect(location: string, headers?: HeadersInit): Response {
  const all = dashboardHeaders("text/plain; charset=utf-8");
  all.set("location", location);
  for (const [name, value] of new Headers(headers)) all.append(name, value);
  return new Response(null, { status: 303, headers: all });
}

/**
 * 405 with the methods a route answers.
 *
 * @example
 * ```ts
 * if (request.method !== "GET") return methodNotAllowed(request, ["GET"]);
 * ```
 */
export function methodNotAllowed(request: Request, allowed: string[]): Response {
  return jsonError(405, "UNIMPLEMENTED", `${request.method} is not allowed here; use ${allowed.join(" or ")}`, {
    allow: allowed.join(", "),
  });
}
