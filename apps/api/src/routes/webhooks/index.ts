/**
 * `/webhooks`: POST, list, get, DELETE (not in the reference; so marked in the OpenAPI
 * document).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { invalidField, unwrap } from "../../lib/errors.ts";
import { registerListRoute } from "../../lib/list-route.ts";
import { listConfig, selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ListQuerySchema, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { checkUrl, type OutboundPolicy, STRICT_POLICY } from "@conf/outbound";
import {
  CreatedWebhookSchema,
  WEBHOOK_FIELDS,
  WebhookInputSchema,
  WebhookPageSchema,
  WebhookParams,
  WebhookSchema,
} from "./schema.ts";

/** What the webhook routes need (WEBHOOKS_*, OUTBOUND_* variables). */
export interface WebhookRouteOptions {
  /** Where tenants may point webhooks. Default: nothing loopback, private or link-local. */
  readonly policy?: OutboundPolicy;
  /** Webhooks per account at most. Default 20. */
  readonly maxPerAccount?: number;
  /** Told after an account's webhooks changed (the dispatcher's cache). */
  readonly onChange?: (accountSid: string) => void;
}

export const DEFAULT_WEBHOOKS_PER_ACCOUNT = 20;
const STRICT: OutboundPolicy = STRICT_POLICY;
const TAGS = ["Webhooks"];
const NOTE = "Not in the reference. ";

const create = createRoute({
  method: "post",
  path: "/webhooks",
  operationId: "createWebhook",
  tags: TAGS,
  summary: "Create webhook",
  description: `${NOTE}Registers a URL to which every event of the account (or of \`types\`) is POSTed. The answer carries the signing \`secret\`, shown only here. URLs on loopback, private or link-local addresses are refused unless the operator allows them (OUTBOUND_ALLOW_PRIVATE).`,
  security: [{ basicAuth: [] }],
  request: { body: jsonBodyOf(WebhookInputSchema, "The webhook to create") },
  responses: { 200: ok(CreatedWebhookSchema, "The created Webhook object with its secret"), ...errors(400, 401, 415, 422) },
});

const list = createRoute({
  method: "get",
  path: "/webhooks",
  operationId: "listWebhooks",
  tags: TAGS,
  summary: "Get webhooks",
  description: `${NOTE}Returns the account's webhooks (without their secrets).`,
  security: [{ basicAuth: [] }],
  request: { query: ListQuerySchema },
  responses: { 200: ok(WebhookPageSchema, "A list of Webhook objects"), ...errors(400, 401) },
});

const get = createRoute({
  method: "get",
  path: "/webhooks/{webhook_sid}",
  operationId: "getWebhook",
  tags: TAGS,
  summary: "Get webhook by SID",
  description: `${NOTE}Returns a webhook (without its secret).`,
  security: [{ basicAuth: [] }],
  request: { params: WebhookParams, query: ObjectQuerySchema },
  responses: { 200: ok(WebhookSchema, "The Webhook object"), ...errors(400, 401, 404) },
});

const remove = createRoute({
  method: "delete",
  path: "/webhooks/{webhook_sid}",
  operationId: "deleteWebhook",
  tags: TAGS,
  summary: "Delete webhook",
  description: `${NOTE}Deletes a webhook; deliveries still waiting for it are dropped.`,
  security: [{ basicAuth: [] }],
  request: { params: WebhookParams },
  responses: { 204: { description: "Deleted (empty body)" }, ...errors(401, 404) },
});

/**
 * The `/webhooks` routes.
 * @example conference.route("/", webhooksRoutes({ policy, maxPerAccount: 20 }));
 */
export function webhooksRoutes(options: WebhookRouteOptions = {}): OpenAPIHono<AppEnv> {
  const policy = options.policy ?? STRICT;
  const max = options.maxPerAccount ?? DEFAULT_WEBHOOKS_PER_ACCOUNT;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) => {
    const { accountSid } = c.var.principal;
    const body = c.req.valid("json");
    const url = checkUrl(body.url, policy);
    if (!url.ok) throw invalidField("url", url.error);
    const types = body.types ? [...new Set(body.types)] : null;
    const hook = unwrap(await c.var.services.repos.webhooks.create(accountSid, { url: body.url, types }, max));
    options.onChange?.(accountSid);
    return c.json(hook, 200);
  });
  registerListRoute(app, list, async (c) => c.json(await listConfig(c, c.var.services.repos.webhooks, WEBHOOK_FIELDS), 200));
  app.openapi(get, async (c) => {
    const hook = unwrap(await c.var.services.repos.webhooks.get(c.var.principal.accountSid, c.req.valid("param").webhook_sid));
    return c.json(selectOne(c, hook, WEBHOOK_FIELDS), 200);
  });
  app.openapi(remove, async (c) => {
    const { accountSid } = c.var.principal;
    unwrap(await c.var.services.repos.webhooks.delete(accountSid, c.req.valid("param").webhook_sid));
    options.onChange?.(accountSid);
    return c.body(null, 204);
  });
  return app;
}
