import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listLive } from "../../lib/listing.ts";
import { liveStore } from "../../lib/live.ts";
import { cachedJson, durationValidUntil } from "../../lib/read-cache.ts";
import { MEETING_FIELDS, MEETING_FILTER_FIELDS, MeetingPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listMeetings",
  path: "/meetings",
  tag: "Meetings",
  summary: "Get meetings",
  description:
    "Returns the account's running meetings matching the criteria in the request URL. `total` is null, as in the reference.",
  page: MeetingPageSchema,
  items: "Meeting",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => {
      const store = liveStore(c);
      const meetings = store ? await store.listMeetings(c.var.principal.accountSid) : [];
      const page = listLive(c, meetings, MEETING_FILTER_FIELDS, MEETING_FIELDS, { countable: false });
      // Every meeting's duration may show (or decide a filter or an order): exact until the first ticks.
      return cachedJson(c, page, durationValidUntil(meetings));
    },
    { cache: "live" },
  );
}
