/** Routes the web port's requests by path to handlers; what matches no route is a JSON 404. */
import { Code, StupidModalError } from "../wire/errors.ts";
import { errorResponse } from "./http_status.ts";

/** Who sent a request: its address as the server saw it. */
export interface WebClient {
  address: string;
}

/**
 * Answers one request; `params` holds the route's named path segments, percent-decoded, and
 * `client` who sent it.
 */
export type RouteHandler = (
  request: Request,
  params: Record<string, string>,
  client: WebClient,
) => Response | Promise<Response>;

/**
 * Path patterns (`/apps/:app/:function`, as `URLPattern` reads them) and their handlers, tried in
 * the order they were added. Each handler checks the method itself, so it can answer 405 with
 * the methods it allows.
 *
 * @example
 * ```ts
 * const router = new WebRouter().route("/apps/:app/:function", (request, { app }) => new Response(app));
 * const response = await router.handle(new Request("http://localhost/apps/demo/add"));
 * ```
 */
export class WebRouter {
  #routes: { pattern: URLPattern; handler: RouteHandler }[] = [];

  /** Adds a route; returns the router. */
  route(pathname: string, handler: RouteHandler): this {
    this.#routes.push({ pattern: new URLPattern({ pathname }), handler });
    return this;
  }

  /** The answer of the first route whose pattern matches the request's path. */
  handle(request: Request, client: WebClient = { address: "" }): Response | Promise<Response> {
    const pathname = new URL(request.url).pathname;
    for (const { pattern, handler } of this.#routes) {
      const match = pattern.exec({ pathname });
      if (!match) continue;
      const params = decodeParams(match.pathname.groups);
      if (params) return handler(request, params, client);
    }
    return errorResponse(new StupidModalError(Code.NOT_FOUND, `nothing is served at ${pathname}`));
  }
}

/** The groups, percent-decoded; undefined when one is malformed (no route can mean it). */
function decodeParams(groups: Record<string, string | undefined>): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  try {
    for (const [name, value] of Object.entries(groups)) params[name] = decodeURIComponent(value ?? "");
  } catch {
    return undefined;
  }
  return params;
}
