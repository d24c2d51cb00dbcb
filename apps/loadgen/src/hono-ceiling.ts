/**
 * The framework's own ceiling: a bare Hono app on Bun.serve returning a fixed JSON body
 * shaped like a one-page list response. The bench starts it beside the service and loads
 * it the same way, so API figures can be read against what Hono on Bun does on this machine
 * with no auth, database or store behind the route.
 * Usage: bun run apps/loadgen/src/hono-ceiling.ts [port]  (prints "listening PORT").
 */
import { Hono } from "hono";

const ITEM = {
  access_codes: [
    { access_code: "890671", role: "host" },
    { access_code: "265423", role: "listener" },
    { access_code: "143623", role: "participant" },
  ],
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  did_group_sid: null,
  meeting_room_sid: "2652635f-10a6-4b2a-a46b-2eeb75ddeab6",
  name: "N/A",
};

/** Fixed body: ten items, as `limit=10` returns. */
export const CEILING_BODY = {
  count: 10,
  has_more: false,
  items: Array.from({ length: 10 }, () => ITEM),
  limit: 10,
  offset: 0,
  pagination: {},
  total: 10,
};

export function createCeilingApp(): Hono {
  const app = new Hono();
  app.get("/ceiling", (c) => c.json(CEILING_BODY));
  return app;
}

if (import.meta.main) {
  const port = Number(process.argv[2] ?? 0);
  const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: createCeilingApp().fetch });
  console.log(`listening ${server.port}`);
}
