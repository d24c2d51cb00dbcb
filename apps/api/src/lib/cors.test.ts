import { describe, expect, test } from "bun:test";
import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { CORS_EXPOSE_HEADERS } from "../app.ts";
import { corsAnyOrigin } from "./cors.ts";

const OPTIONS = {
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type"],
  exposeHeaders: [...CORS_EXPOSE_HEADERS],
  maxAge: 86_400,
};

function appWith(mw: MiddlewareHandler): Hono {
  const app = new Hono();
  app.use("*", mw);
  app.get("/json", (c) => c.json({ a: 1 }, 200));
  app.get("/text", (c) => c.text("hi"));
  app.get("/raw", () => new Response("raw", { headers: { "X-Own": "1" } }));
  app.delete("/none", (c) => c.body(null, 204));
  app.get("/header", (c) => {
    c.header("X-Route", "yes");
    return c.json({ b: 2 }, 201);
  });
  app.get("/throw", () => {
    throw new Error("boom");
  });
  app.onError((_e, c) => c.json({ message: "error" }, 500));
  app.notFound((c) => c.json({ message: "no item error" }, 404));
  return app;
}

async function snapshot(app: Hono, method: string, path: string, headers: Record<string, string> = {}) {
  const res = await app.request(`http://x${path}`, { method, headers });
  return { status: res.status, body: await res.text(), headers: [...res.headers.entries()].sort() };
}

describe("corsAnyOrigin answers exactly as Hono's cors() with the same options", () => {
  const hono = appWith(cors({ origin: "*", ...OPTIONS }));
  const ours = appWith(corsAnyOrigin(OPTIONS));
  const cases: [string, string, Record<string, string>][] = [
    ["GET", "/json", {}],
    ["GET", "/json", { Origin: "https://example.org" }],
    ["GET", "/text", {}],
    ["GET", "/raw", {}],
    ["DELETE", "/none", {}],
    ["GET", "/header", {}],
    ["GET", "/throw", {}],
    ["GET", "/missing", {}],
    ["HEAD", "/json", {}],
    ["OPTIONS", "/json", { Origin: "https://example.org", "Access-Control-Request-Method": "PATCH" }],
    ["OPTIONS", "/json", { "Access-Control-Request-Headers": "x-a, x-b" }],
    ["OPTIONS", "/missing", {}],
  ];
  for (const [method, path, headers] of cases) {
    test(`${method} ${path} ${JSON.stringify(headers)}`, async () => {
      expect(await snapshot(ours, method, path, headers)).toEqual(await snapshot(hono, method, path, headers));
    });
  }

  test("without allowHeaders a preflight echoes the requested headers, as Hono does", async () => {
    const opts = { ...OPTIONS, allowHeaders: [] };
    const h = { "Access-Control-Request-Headers": "x-a, x-b" };
    expect(await snapshot(appWith(corsAnyOrigin(opts)), "OPTIONS", "/json", h)).toEqual(
      await snapshot(appWith(cors({ origin: "*", ...opts })), "OPTIONS", "/json", h),
    );
  });
});
