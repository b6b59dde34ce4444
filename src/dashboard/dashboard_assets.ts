/**
 * The browser's files (the bundled script and the style sheet), served from the generated module
 * `browser_bundle.ts` (`deno task dashboard` writes it), so a compiled server carries them too.
 */
import { assetsVersion, dashboardScript, dashboardStyle } from "./browser_bundle.ts";
import { dashboardHeaders, jsonError, methodNotAllowed } from "./dashboard_responses.ts";

export { assetsVersion };

const files: Record<string, { body: string; type: string }> = {
  "dashboard.js": { body: dashboardScript, type: "text/javascript; charset=utf-8" },
  "dashboard.css": { body: dashboardStyle, type: "text/css; charset=utf-8" },
};

/**
 * Answers `/ui/assets/<file>`: the file, with an ETag; 304 when the browser has it already. The
 * pages name the files with `?v=<assetsVersion>`, so a new build is fetched at once.
 *
 * @example
 * ```ts
 * router.route("/ui/assets/:file", (request, { file }) => serveAsset(request, file));
 * ```
 */
export function serveAsset(request: Request, name: string): Response {
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed(request, ["GET", "HEAD"]);
  const file = files[name];
  if (!file) return jsonError(404, "NOT_FOUND", `no dashboard asset ${name}`);
  const etag = `"${assetsVersion}"`;
  const headers = dashboardHeaders(file.type, "no-cache");
  headers.set("etag", etag);
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  return new Response(request.method === "HEAD" ? null : file.body, { headers });
}
