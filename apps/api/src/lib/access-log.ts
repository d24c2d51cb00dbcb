/**
 * The API's access log: one record per request (method, route pattern, status, duration
 * in ms, request id), never the query string, the body or a header's value. The request
 * id is the client's X-Request-Id when it is a short safe token (a proxy's, so one id
 * follows the request through), else a new one; the response carries it back.
 */
import type { Log } from "@conf/log";
import type { Context, MiddlewareHandler } from "hono";

/** Longest X-Request-Id taken from a client; anything else is replaced. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-Id when it is a safe token, else a new UUID. */
export function requestId(incoming: string | undefined | null): string {
  return incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** The pattern of the route that answered (`/conference/v2/meetings/:meeting_sid`), never the raw path. */
function routeOf(c: Context): string {
  const routes = c.req.matchedRoutes.filter((r) => r.method !== "ALL");
  return routes.at(-1)?.path ?? "(no route)";
}

/**
 * Logs each request when its response is ready and sets X-Request-Id on it.
 * @example app.use("*", accessLog(createLogger("api")))
 */
export function accessLog(log: Log): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    const id = requestId(c.req.header("x-request-id"));
    c.header("X-Request-Id", id);
    try {
      await next();
    } finally {
      c.res.headers.set("X-Request-Id", id);
      log.info(
        {
          request_id: id,
          method: c.req.method,
          route: routeOf(c),
          status: c.res.status,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        },
        "request",
      );
    }
  };
}
