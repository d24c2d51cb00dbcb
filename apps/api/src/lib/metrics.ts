/**
 * The API's Prometheus metrics: how long requests take, by method, matched route and
 * status, merged at scrape time with the text of other sources (the mixer's families
 * under `bun run start`, fetched over the link). Served at GET /metrics behind the
 * operator's bearer token.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Histogram, Registry } from "prom-client";

/** Another process's Prometheus text (families disjoint from the API's). */
export type MetricsSource = () => Promise<string>;

/** Methods named in the `method` label; any other is "OTHER" (the label stays bounded). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Route label of a request no route matched (404s, CORS preflights). */
export const UNMATCHED_ROUTE = "unmatched";

/** Bounds of the request-duration buckets, seconds. */
const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ApiMetrics {
  readonly registry: Registry;
  /** Times every request; mount it first so it sees what every other layer answers. */
  readonly middleware: MiddlewareHandler;
  /** The API's families, then every source's that answered. */
  text(): Promise<string>;
  readonly contentType: string;
}

/**
 * The API's metrics.
 *
 * @example
 * const metrics = createApiMetrics({ sources: [() => mixer.text()] });
 * app.use("*", metrics.middleware);
 */
export function createApiMetrics(
  options: { sources?: readonly MetricsSource[]; onSourceError?: (err: unknown) => void } = {},
): ApiMetrics {
  const registry = new Registry();
  const duration = new Histogram({
    name: "conference_http_request_duration_seconds",
    help: "HTTP requests to the API by method, matched route pattern and status, seconds until the response started.",
    labelNames: ["method", "route", "status"] as const,
    buckets: DURATION_BUCKETS_S,
    registers: [registry],
  });
  const sources = options.sources ?? [];
  const onSourceError = options.onSourceError ?? (() => {});
  return {
    registry,
    contentType: registry.contentType,
    middleware: async function httpMetrics(c, next) {
      const start = performance.now();
      try {
        await next();
      } finally {
        const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
        duration.observe({ method, route: routeOf(c), status: String(c.res.status) }, (performance.now() - start) / 1000);
      }
    },
    async text() {
      const own = await registry.metrics();
      const others = await Promise.all(
        sources.map((s) =>
          s().then(
            (t) => t,
            (err: unknown) => {
              // A mixer that is not up yet (or too busy to answer in time) leaves its
              // families out of this scrape; the API's own still answer.
              onSourceError(err);
              return "";
            },
          ),
        ),
      );
      return [own, ...others.filter((t) => t !== "")].map((t) => (t.endsWith("\n") ? t : `${t}\n`)).join("\n");
    },
  };
}

/**
 * The pattern of the route that handled the request (`/conference/v2/calls/:call_sid`),
 * never the raw path: the label's values are the app's routes, whatever is requested.
 */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  // Middleware is registered for every method ("ALL"); the handler under a method.
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.method !== "ALL") return r.path;
  }
  return UNMATCHED_ROUTE;
}
