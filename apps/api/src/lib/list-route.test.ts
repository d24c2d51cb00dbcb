import { describe, expect, test } from "bun:test";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { ApiError } from "./errors.ts";
import { registerListRoute } from "./list-route.ts";
import { CoreListQuerySchema, errors, ListQuerySchema, ok } from "./openapi.ts";

const routes = [ListQuerySchema, CoreListQuerySchema].map((query, i) =>
  createRoute({
    method: "get",
    path: `/things${i}`,
    tags: ["Things"],
    summary: "Get things",
    request: { query },
    responses: { 200: ok(ListQuerySchema, "things"), ...errors(400) },
  }),
);

function build(fast: boolean): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError((err, c) =>
    err instanceof ApiError ? c.json(err.body as object, err.status) : c.json({ message: String(err) }, 500),
  );
  for (const route of routes) {
    const handler = async (c: any) => c.json({ valid: c.req.valid("query"), raw: c.req.query() }, 200);
    if (fast) registerListRoute(app, route, handler);
    else app.openapi(route, handler);
  }
  return app;
}

describe("registerListRoute answers as app.openapi does", () => {
  const plain = build(false);
  const fast = build(true);
  const queries = [
    "",
    "?",
    "?limit=5",
    "?limit=5&offset=10&order=name+desc&filter=name%20eq%20x&include_fields=name&exclude_fields=sid",
    "?limit=1&limit=2",
    "?filter=a&filter=b",
    "?limit=1&filter=a&filter=b&limit=2",
    "?li%6Dit=1&limit=2",
    "?x=1&x=2",
    "?limit",
    "?limit=&offset=",
    "?limit=abc",
  ];
  for (const i of [0, 1]) {
    for (const q of queries) {
      test(`/things${i}${q}`, async () => {
        const a = await plain.request(`http://x/things${i}${q}`);
        const b = await fast.request(`http://x/things${i}${q}`);
        expect({ status: b.status, body: await b.json() }).toEqual({ status: a.status, body: await a.json() });
      });
    }
  }

  test("a repeated parameter is the validator's 400, naming it", async () => {
    const r = await fast.request("http://x/things0?limit=1&limit=2");
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ errors: [{ field: "limit", message: "must be a string" }] });
  });

  test("the same OpenAPI document", () => {
    const doc = (app: OpenAPIHono<AppEnv>) => app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    expect(doc(fast)).toEqual(doc(plain));
  });
});
