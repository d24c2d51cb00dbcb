/**
 * Registering the list routes. Their query schemas (`ListQuerySchema`,
 * `CoreListQuerySchema`) are objects of optional strings, which a query of single values
 * always satisfies: zod can only refuse a parameter given twice (it then sees an array).
 * Running the validator anyway cost ~10 us of a ~40 us list request in-process, so the
 * route checks for a repeated parameter itself and runs the validator only then, for the
 * same 400.
 */
import type { OpenAPIHono, RouteConfig, RouteHandler, z } from "@hono/zod-openapi";
import type { Handler, MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
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
