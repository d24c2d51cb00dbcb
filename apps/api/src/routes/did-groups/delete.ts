import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { errors } from "../../lib/openapi.ts";
import { DidGroupParams } from "./schema.ts";

const route = createRoute({
  method: "delete",
  operationId: "deleteDidGroup",
  path: "/did_groups/{did_group_sid}",
  tags: ["DID Groups"],
  summary: "Delete DID group",
  description: "Deletes a DID group, targeted by secure ID. Its DIDs and meeting rooms stay, without a DID group.",
  security: [{ basicAuth: [] }],
  request: { params: DidGroupParams },
  responses: { 204: { description: "Deleted (empty body)" }, ...errors(401, 404) },
});

export function registerDelete(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    unwrap(await c.var.services.repos.didGroups.delete(accountSid, c.req.valid("param").did_group_sid));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.body(null, 204);
  });
}
