import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listLive, listLivePaged } from "../../lib/listing.ts";
import { liveStore } from "../../lib/live.ts";
import { cachedJson, durationValidUntil } from "../../lib/read-cache.ts";
import { CALL_FIELDS, CALL_FILTER_FIELDS, CallPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listCalls",
  path: "/calls",
  tag: "Calls",
  summary: "Get calls",
  description: "Returns the account's current calls matching the criteria in the request URL.",
  page: CallPageSchema,
  items: "Call",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => {
      const store = liveStore(c);
      if (!store) return c.json(listLive(c, [], CALL_FILTER_FIELDS, CALL_FIELDS, { countable: true }), 200);
      const { accountSid } = c.get("principal");
      // The page's body holds the durations of the calls read (of every call when a filter
      // or an order needs them all, since either may depend on durations): it stays exact
      // until the first of them ticks.
      let validUntil = Number.POSITIVE_INFINITY;
      const page = await listLivePaged(
        c,
        async (offset, limit) => {
          const r = await store.listCallsPage(accountSid, offset, limit);
          validUntil = durationValidUntil(r.items);
          return r;
        },
        async () => {
          const all = await store.listCalls(accountSid);
          validUntil = durationValidUntil(all);
          return all;
        },
        CALL_FILTER_FIELDS,
        CALL_FIELDS,
      );
      return cachedJson(c, page, validUntil);
    },
    { cache: "live" },
  );
}
