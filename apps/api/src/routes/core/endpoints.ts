import { registerListRoute } from "../../lib/list-route.ts";
import type { EndpointObject } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, baseUrlOf } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { CORE_DEFAULT_LIMIT } from "../../lib/pagination.ts";
import { listConfig, selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, CoreListQuerySchema, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import {
  ENDPOINT_FIELDS,
  EndpointFilteredSchema,
  EndpointInputSchema,
  EndpointPageSchema,
  EndpointParams,
  EndpointSchema,
} from "./schema.ts";

const tags = ["Operator: endpoints"];
const security = [{ adminToken: [] }];

/** `properties.api_url` as clients reach this API (PUBLIC_URL, else the request's origin). */
function withApiUrl<T extends Partial<EndpointObject>>(c: Context<AppEnv>, e: T): T {
  if (!e.properties) return e;
  return { ...e, properties: { ...e.properties, api_url: `${baseUrlOf(c.var.services, c.req.url)}/conference/v2` } };
}

const create = createRoute({
  method: "post",
  operationId: "coreCreateEndpoint",
  path: "/endpoints",
  tags,
  security,
  summary: "Create a conference endpoint",
  description:
    "Creates a conference endpoint and its account. The response carries the Conference API credentials in `properties` (the password only here).",
  request: { body: jsonBodyOf(EndpointInputSchema, "The endpoint to create") },
  responses: { 200: ok(EndpointSchema, "The created endpoint"), ...errors(400, 401, 403, 415, 422) },
});

const list = createRoute({
  method: "get",
  operationId: "coreListEndpoints",
  path: "/endpoints",
  tags,
  security,
  summary: "Get endpoints",
  request: { query: CoreListQuerySchema },
  responses: { 200: ok(EndpointPageSchema, "A list of endpoints"), ...errors(400, 401, 403) },
});

const get = createRoute({
  method: "get",
  operationId: "coreGetEndpoint",
  path: "/endpoints/{endpoint_sid}",
  tags,
  security,
  summary: "Get endpoint by SID",
  request: { params: EndpointParams, query: ObjectQuerySchema },
  responses: { 200: ok(EndpointFilteredSchema, "The endpoint"), ...errors(400, 401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  operationId: "coreDeleteEndpoint",
  path: "/endpoints/{endpoint_sid}",
  tags,
  security,
  summary: "Delete endpoint",
  description: "Deletes the endpoint, its account and everything the account owns.",
  request: { params: EndpointParams },
  responses: { 204: { description: "Deleted (empty body)" }, ...errors(401, 403, 404) },
});

/** `/core/v2/endpoints`: POST, list, get, DELETE. */
export function registerEndpoints(app: OpenAPIHono<AppEnv>): void {
  app.openapi(create, async (c) => {
    const endpoint = unwrap(await c.var.services.repos.endpoints.create(c.req.valid("json")));
    await c.var.services.publish({ kind: "account", accountSid: endpoint.properties.account_sid });
    return c.json(withApiUrl(c, endpoint), 200);
  });
  registerListRoute(app, list, async (c) => {
    const repo = c.var.services.repos.endpoints;
    const page = await listConfig(c, repo, ENDPOINT_FIELDS, {
      unscoped: true,
      fieldOptions: {},
      defaultLimit: CORE_DEFAULT_LIMIT,
    });
    return c.json({ ...page, items: page.items.map((e) => withApiUrl(c, e)) }, 200);
  });
  app.openapi(get, async (c) => {
    const endpoint = unwrap(await c.var.services.repos.endpoints.get(c.req.valid("param").endpoint_sid));
    return c.json(selectOne(c, withApiUrl(c, endpoint), ENDPOINT_FIELDS), 200);
  });
  app.openapi(remove, async (c) => {
    const { repos } = c.var.services;
    const endpoint = unwrap(await repos.endpoints.get(c.req.valid("param").endpoint_sid));
    unwrap(await repos.endpoints.delete(endpoint.endpoint_sid));
    await c.var.services.publish({ kind: "account", accountSid: endpoint.properties.account_sid }, { credentials: true });
    return c.body(null, 204);
  });
}
