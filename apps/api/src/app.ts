/**
 * The HTTP API: `/conference/v2/*` (the CarrierX Conference v2 reference, HTTP Basic of
 * an account) and `/core/v2/*` (operator provisioning, bearer token). Built without side
 * effects so tests drive it in-process with `app.request()`.
 */
import { type Invalidation, invalidationChannel } from "@conf/access-router";
import { createRepositories, type Database } from "@conf/db";
import { type SessionStore, StoreUnavailableError } from "@conf/session-store";
import { type OutboundPolicy, STRICT_POLICY } from "@conf/outbound";
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { basicAuth, bearerAuth, type CredentialCache, createCredentialCache } from "./lib/auth.ts";
import { corsAnyOrigin } from "./lib/cors.ts";
import { checkRequestStrings } from "./lib/input.ts";
import { checkOutboundAttributes } from "./lib/outbound.ts";
import { clientAddress } from "./lib/client-address.ts";
import { unexpectedErrorLine, unexpectedErrorRecord } from "./lib/log.ts";
import { accessLog } from "./lib/access-log.ts";
import { createLogger, type Log } from "@conf/log";
import { DEFAULT_FILTER_LIMITS, type FilterLimits } from "./lib/filter.ts";
import { DOCS_SCRIPT_PATH, docsScript } from "./lib/docs-assets.ts";
import { type JoinPageOptions, joinRoutes } from "./routes/join/index.ts";
import { createReadCache, type ReadCache } from "./lib/read-cache.ts";
import { jsonBody, validationHook } from "./lib/body.ts";
import type { ApiInvalidation, AppEnv, Repos, Services } from "./lib/context.ts";
import {
  ApiError,
  badJson,
  internalError,
  item,
  notFound,
  payloadTooLarge,
  serviceUnavailable,
  unsupportedMediaType,
} from "./lib/errors.ts";
import { createLoginLimiter, type LoginLimiter } from "./lib/login-limiter.ts";
import { type ApiMetrics, createApiMetrics } from "./lib/metrics.ts";
import { accountsRoutes } from "./routes/accounts/index.ts";
import { callFlowsRoutes } from "./routes/call-flows/index.ts";
import { callsRoutes } from "./routes/calls/index.ts";
import { coreRoutes } from "./routes/core/index.ts";
import { didGroupsRoutes } from "./routes/did-groups/index.ts";
import { didsRoutes } from "./routes/dids/index.ts";
import { meetingRoomsRoutes } from "./routes/meeting-rooms/index.ts";
import { meetingsRoutes } from "./routes/meetings/index.ts";
import { type EventStreamLimits, eventsRoutes } from "./routes/events/index.ts";
import { type WebhookRouteOptions, webhooksRoutes } from "./routes/webhooks/index.ts";
import { consoleRoutes } from "./pages/console.ts";

/** Publishes on a channel; structurally the session store's `Bus`. */
export interface Publisher {
  publish(channel: string, message: unknown): Promise<number>;
}

/** What the app is built from. */
export interface AppDeps {
  /** The open config database (`openDatabase` of `@conf/db`). */
  readonly database: Database;
  /** Bearer token of `/core/v2`. */
  readonly adminToken: string;
  /** The live plane (calls and meetings); without it nothing is live: empty lists, 404 by SID. */
  readonly sessionStore?: SessionStore;
  /** Where config invalidations go (the session store's `Bus`); none: not published. */
  readonly bus?: Publisher;
  /** Origin (and path prefix) of absolute links (PUBLIC_URL); default the request's origin. */
  readonly publicUrl?: string;
  /** Where the /join page's browser reaches the mixer's SIP over WebSocket; absent: browser calls off. */
  readonly join?: JoinPageOptions;
  /** The verified-credential cache; a fresh one (60 s TTL) by default. Pass one to share it with a bus subscriber. */
  readonly authCache?: CredentialCache;
  /**
   * Cached GET bodies. Serves only what `connectReadCache` keeps current (`startApi` connects
   * one to the bus and the store's events); default: a fresh cache that is never connected,
   * so every read goes to the database or the store.
   */
  readonly readCache?: ReadCache;
  /** Bytes of a request body; more is a 413 (default 1 MiB, API_MAX_BODY_BYTES). */
  readonly maxBodyBytes?: number;
  /** Failed Basic logins per address and per (address, login); default `createLoginLimiter()`'s bounds. */
  readonly loginLimiter?: LoginLimiter;
  /** Client address from X-Forwarded-For's last entry (API_TRUST_PROXY); default the TCP peer. */
  readonly trustProxy?: boolean;
  /**
   * Where tenants may make the service send (OUTBOUND_ALLOW_PRIVATE, OUTBOUND_ALLOWLIST,
   * SIP_HOST); default `STRICT_POLICY`: public addresses only.
   */
  readonly outbound?: OutboundPolicy;
  /** Bounds on `?filter=` (default DEFAULT_FILTER_LIMITS). */
  readonly filterLimits?: FilterLimits;
  /** Repositories to use instead of the ones built over `database` (tests). */
  readonly repos?: Repos;
  /**
   * Where the one-line JSON record of an unexpected error goes (default `console.error`).
   * The record names the route and the error's kind only: no query, body, parameters or secrets.
   */
  readonly logError?: (line: string) => void;
  /** Where the access log and unexpected errors go (default the `api` module's logger); false: no access log (tests). */
  readonly log?: Log | false;
  /** Limits of `GET /conference/v2/events` (EVENTS_* variables). */
  readonly eventStreams?: EventStreamLimits;
  /** The outbound policy and limits of `/conference/v2/webhooks`. */
  readonly webhooks?: WebhookRouteOptions;
  /** What GET /metrics serves (bearer `adminToken`); default the API's own families only. */
  readonly metrics?: ApiMetrics;
}

/** CORS as the reference's sample response headers show. */
export const CORS_EXPOSE_HEADERS = [
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Methods",
  "Access-Control-Allow-Credentials",
  "Content-Disposition",
  "Access-Control-Allow-Headers",
] as const;

const OPENAPI_PATH = "/conference/v2/openapi.json";

/** Default bound on a request body in bytes (API_MAX_BODY_BYTES). */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/**
 * Builds the app.
 * @example
 * const app = createApp({ database: await openDatabase({ dataDir: "memory://" }), adminToken: "secret-token-1234" });
 * const res = await app.request("/conference/v2/accounts/whoami", { headers: { Authorization: "Basic ..." } });
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const repos = deps.repos ?? createRepositories(deps.database);
  const authCache = deps.authCache ?? createCredentialCache();
  const log = deps.log === false ? null : (deps.log ?? createLogger("api"));
  // Through the logger: the same record (route, error kind; no query, body, secrets), as fields.
  const logUnexpected = (err: unknown, c: Context) =>
    deps.logError
      ? deps.logError(unexpectedErrorLine(err, c))
      : (log ?? createLogger("api")).error(unexpectedErrorRecord(err, c), "unexpected error");
  const bus = deps.bus;
  const readCache = deps.readCache ?? createReadCache();
  const services: Services = {
    repos,
    authCache,
    readCache,
    publicUrl: deps.publicUrl,
    sessionStore: deps.sessionStore,
    filterLimits: deps.filterLimits ?? DEFAULT_FILTER_LIMITS,
    outbound: deps.outbound ?? STRICT_POLICY,
    async publish(scope: Invalidation, options = {}) {
      // Before anything else: the write is done, and the writer's next read must see it.
      if (scope.kind === "account") readCache.drop(scope.accountSid, "config");
      else readCache.dropAll("config");
      // Cached logins go only when credentials change: other writes must not make the
      // next request pay for an argon2id verification.
      const credentials = options.credentials === true || scope.kind === "all";
      if (credentials) {
        if (scope.kind === "account") authCache.dropAccount(scope.accountSid);
        else authCache.clear();
      }
      if (!bus) return;
      const message: ApiInvalidation = credentials && scope.kind === "account" ? { ...scope, credentials: true } : scope;
      // A change the routers miss would route calls by stale config; their caches also
      // expire on their own, so a failed publish is reported, not fatal to the request.
      try {
        await bus.publish(invalidationChannel, message);
      } catch (e) {
        (log ?? createLogger("api")).error(
          { err: e instanceof Error ? e.message : String(e) },
          "could not publish a config invalidation",
        );
      }
    },
  };

  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  const metrics = deps.metrics ?? createApiMetrics();
  app.use("*", metrics.middleware);
  if (log) app.use("*", accessLog(log));
  app.use(
    "*",
    corsAnyOrigin({
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type"],
      exposeHeaders: CORS_EXPOSE_HEADERS,
      maxAge: 86_400,
    }),
  );
  // Read while c.req.raw is still the request Bun handed us (the body limit may replace it).
  const trustProxy = deps.trustProxy === true;
  app.use("*", async function clientAddressMiddleware(c, next) {
    c.set("clientAddress", clientAddress(c, trustProxy));
    await next();
  });
  // Before anything reads the body: a declared length over the limit is refused without
  // reading it, a chunked body is cut off as soon as it passes the limit.
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.use(
    "*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw payloadTooLarge(maxBodyBytes);
      },
    }),
  );
  app.use("*", checkRequestStrings());
  app.use("*", async function servicesMiddleware(c, next) {
    c.set("services", services);
    await next();
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body as object, err.status, err.headers);
    if (err instanceof HTTPException) {
      // Raised by the validators of @hono/zod-openapi before our own checks could run.
      if (err.status === 415) return c.json(unsupportedMediaType().body as object, 415);
      if (err.status === 400) return c.json(badJson().body as object, 400);
      return c.json({ message: err.message, errors: [item(null, err.message)] }, err.status);
    }
    if (err instanceof StoreUnavailableError) {
      // Not unexpected: the live store did not answer in time. The path carries no secrets.
      logUnexpected(err, c);
      return c.json(serviceUnavailable().body as object, 503);
    }
    try {
      logUnexpected(err, c);
    } catch {
      // A failing logger must not turn the 500 into something worse.
    }
    return c.json(internalError().body as object, 500);
  });
  app.notFound((c) =>
    c.json({ message: "no item error", errors: [item(null, `cannot find route ${c.req.method} ${c.req.path}`)] }, 404),
  );

  // The document and the reference page are public, and registered before the
  // authenticated sub-apps so their middleware never sees these paths.
  // Generating the document walks every route's schemas (~11-37 ms of CPU). Only
  // `servers` depends on the request (its origin, from the client's Host header), so
  // the document is built once, on first use, around a placeholder, and each answer
  // splices the JSON-quoted origin in: a flood of Host values costs a string concat each.
  const SERVER_PLACEHOLDER = "\u0000server-url\u0000";
  let halves: readonly [string, string] | undefined;
  app.get(OPENAPI_PATH, (c) => {
    if (halves === undefined) {
      let whole: string;
      try {
        whole = JSON.stringify(
          app.getOpenAPI31Document({
            openapi: "3.1.0",
            info: {
              title: "Conference v2 API",
              version: "2.0.0",
              description:
                "The CarrierX Conference v2 REST API (accounts, call flows, DIDs, DID groups, meeting rooms, calls, meetings) plus the operator routes under /core/v2.",
              // The repository's license (LICENSE at its root).
              license: { name: "MIT", url: "https://spdx.org/licenses/MIT.html" },
            },
            servers: [{ url: SERVER_PLACEHOLDER }],
          }),
        );
      } catch (e) {
        // As app.doc31 answers a generator error.
        return c.json(e as object, 500);
      }
      const quoted = JSON.stringify(SERVER_PLACEHOLDER);
      const at = whole.indexOf(quoted);
      halves = [whole.slice(0, at), whole.slice(at + quoted.length)];
    }
    const origin = deps.publicUrl ?? new URL(c.req.url).origin;
    return c.body(halves[0] + JSON.stringify(origin) + halves[1], 200, { "Content-Type": "application/json" });
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.get(
    "/docs",
    Scalar({
      url: OPENAPI_PATH,
      pageTitle: "Conference v2 API",
      // Everything the page needs comes from this server: no CDN, no web fonts.
      cdn: DOCS_SCRIPT_PATH,
      withDefaultFonts: false,
    }),
  );
  app.route("/", joinRoutes(deps.join ?? { wsPort: null }));
  app.get(DOCS_SCRIPT_PATH, (c) => {
    const script = docsScript();
    if (!script) throw notFound("docs script");
    return c.body(script.body.stream(), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
    });
  });

  // The host console: a public page whose requests carry the account's own credentials.
  app.route("/", consoleRoutes());

  // Operator-only, like /core/v2; not part of the reference, so not in the document.
  app.get("/metrics", bearerAuth({ token: deps.adminToken }), async (c) =>
    c.body(await metrics.text(), 200, { "Content-Type": metrics.contentType }),
  );

  const conference = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  conference.use(
    "*",
    basicAuth({
      cache: authCache,
      verify: (login, password) => verifyLogin(repos, login, password),
      limiter: deps.loginLimiter ?? createLoginLimiter(),
      address: (c) => c.get("clientAddress"),
    }),
  );
  conference.use("*", jsonBody());
  conference.use("*", checkOutboundAttributes());
  // Whatever a write of an account did (even one that failed half-way), its next read
  // here must not come from the cache: live writes (PATCH of calls and meetings, DELETE
  // of meetings) are announced by the store's events only after this response, and
  // config writes drop config in `publish` as well.
  conference.use("*", async function dropCachedOnWrite(c, next) {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    await next();
    const { accountSid } = c.get("principal");
    readCache.drop(accountSid, "config");
    readCache.drop(accountSid, "live");
  });
  conference.route("/", accountsRoutes());
  conference.route("/", callFlowsRoutes());
  conference.route("/", didsRoutes());
  conference.route("/", didGroupsRoutes());
  conference.route("/", meetingRoomsRoutes());
  conference.route("/", callsRoutes());
  conference.route("/", meetingsRoutes());
  conference.route("/", eventsRoutes(deps.eventStreams));
  conference.route("/", webhooksRoutes(deps.webhooks));
  app.route("/conference/v2", conference);

  const core = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  core.use("*", bearerAuth({ token: deps.adminToken }));
  core.use("*", jsonBody());
  core.use("*", checkOutboundAttributes());
  core.route("/", coreRoutes());
  app.route("/core/v2", core);

  return app;
}

async function verifyLogin(repos: Repos, login: string, password: string) {
  const account = await repos.accounts.verifyLogin(login, password);
  return account ? { accountSid: account.account_sid, login: account.login } : null;
}
