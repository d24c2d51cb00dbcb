/**
 * Registering the list routes. Their query schemas (`ListQuerySchema`,
 * `CoreListQuerySchema`) are objects of optional strings, which a query of single values
 * always satisfies: zod can only refuse a parameter given twice (it then sees an array).
 * Running the validator anyway cost ~10 us of a ~40 us list request in-process, so the
 * route checks for a repeated parameter itself and runs the validator only then, for the
 * same 400.
 */
import { createRoute, type OpenAPIHono, type RouteConfig, type RouteHandler, type z } from "@hono/zod-openapi";
import type { Handler, MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { errors, ListQuerySchema, ok } from "./openapi.ts";
import { type ReadScope, readThrough } from "./read-cache.ts";

type StringQueryRoute = RouteConfig & { request: { query: z.ZodObject } };

/**
 * Registers a list route exactly as `app.openapi(route, handler)` does (same OpenAPI
 * entry, same answers), skipping the query validator when no declared parameter repeats.
 * `options.cache`: answer from the read cache first (an account's list; the handler
 * keeps its body with `cachedJson`). A URL answered 200 once passed the query checks, so
 * the cache may come before them.
 * @example registerListRoute(app, route, async (c) => cachedJson(c, await listConfig(c, repo, FIELDS)), { cache: "config" });
 */
export function registerListRoute<R extends StringQueryRoute>(
  app: OpenAPIHono<AppEnv>,
  route: R,
  handler: RouteHandler<R, AppEnv>,
  options: { cache?: ReadScope } = {},
): void {
  const keys = Object.keys(route.request.query.shape);
  const run = handler as unknown as Handler<AppEnv>;
  const fastPath: MiddlewareHandler<AppEnv> = async (c, next) => {
    const url = c.req.url;
    const data: Record<string, string> = {};
    if (url.includes("?")) {
      const all = c.req.queries();
      for (const k of keys) {
        const values = all[k];
        if (values === undefined) continue;
        // Given twice: let the validator answer, as before.
        if (values.length > 1) return next();
        data[k] = values[0]!;
      }
    }
    c.req.addValidatedData("query", data);
    return run(c, next) as Promise<Response>;
  };
  const middleware = options.cache ? [readThrough(options.cache), fastPath] : fastPath;
  app.openapi({ ...route, middleware }, handler as never);
}

/**
 * The route of a tenant's list (`GET /conference/v2/<things>`): basic auth, the
 * reference's list query, a page of `items` objects or 400/401.
 * @example
 * const route = listRoute({ operationId: "listDids", path: "/dids", tag: "DIDs", summary: "Get DIDs",
 *   description: "Returns DIDs matching the criteria in the request URL.", page: DidPageSchema, items: "DID" });
 */
export function listRoute<P extends z.ZodType>(o: {
  operationId: string;
  path: string;
  tag: string;
  summary: string;
  description: string;
  page: P;
  /** The objects' name in the 200's description ("A list of <items> objects"). */
  items: string;
}) {
  return createRoute({
    method: "get",
    operationId: o.operationId,
    path: o.path,
    tags: [o.tag],
    summary: o.summary,
    description: o.description,
    security: [{ basicAuth: [] }],
    request: { query: ListQuerySchema },
    responses: { 200: ok(o.page, `A list of ${o.items} objects`), ...errors(400, 401) },
  });
}
