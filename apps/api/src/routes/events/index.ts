/**
 * `GET /events`: the account's live events as Server-Sent Events (not in the reference).
 */
import { isEventId, PUBLIC_EVENT_TYPES, type PublicEventType } from "@conf/session-store";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { invalidField, item, serviceUnavailable } from "../../lib/errors.ts";
import { errors } from "../../lib/openapi.ts";
import { eventStream } from "./sse.ts";

/** Limits of the event streams (EVENTS_* variables). */
export interface EventStreamLimits {
  /** Open streams per account at most; one more is answered 429. Default 10. */
  readonly maxPerAccount?: number;
  /** Open streams of this process at most. Default 1000. */
  readonly maxTotal?: number;
  /** A keep-alive comment after this long without an event, ms. Default 15000. */
  readonly keepAliveMs?: number;
}

export const DEFAULT_EVENT_STREAMS_PER_ACCOUNT = 10;
export const DEFAULT_EVENT_STREAMS_TOTAL = 1000;
export const DEFAULT_EVENT_KEEPALIVE_MS = 15_000;

const EXAMPLE_EVENT = {
  event_id: "1718000000000-0",
  type: "call.joined",
  date_created: "2024-06-10T06:13:20.000Z",
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  meeting_sid: "0c2b5c8e-7f7d-4a8e-9b5e-0f1d2c3b4a59",
  call_sid: "9a3e47a6-3c0e-4a5b-9f2e-8d4c1b0a7e61",
  data: { call_sid: "9a3e47a6-3c0e-4a5b-9f2e-8d4c1b0a7e61", role: "participant" },
};

/** The JSON of one event (SSE `data:`, webhook body). */
export const PublicEventSchema = z
  .object({
    event_id: z.string().openapi({ description: "The event's id (the SSE `id:`): opaque, increasing within an account" }),
    type: z.enum(PUBLIC_EVENT_TYPES),
    date_created: z.string().openapi({ description: "When it happened (ISO 8601)" }),
    account_sid: z.string(),
    meeting_sid: z.string().nullable().openapi({ description: "Null for a call still at the access-code prompt" }),
    call_sid: z.string().nullable().openapi({ description: "Null for meeting events" }),
    data: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The Call (call.*, talker.*) or Meeting (meeting.*) object as GET returns it" }),
    changes: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "call.updated, meeting.updated: the fields that changed, with their new values" }),
    reason: z.string().optional().openapi({ description: "meeting.ended: last_left, ended or lease_expired" }),
  })
  .openapi("Event", { example: EXAMPLE_EVENT });

const route = createRoute({
  method: "get",
  path: "/events",
  operationId: "streamEvents",
  tags: ["Events"],
  summary: "Stream events (Server-Sent Events)",
  description:
    "Not in the reference: the account's meeting and call events as they happen, as Server-Sent Events (`id:`, `event:` the type, `data:` one Event object). A client reconnecting with `Last-Event-ID` (or `last_event_id=`) gets every event kept after it (at least the last hour or the last 10,000 events of the account), then the live ones. A comment line is sent at least every 30 s.",
  security: [{ basicAuth: [] }],
  request: {
    query: z.object({
      meeting_sid: z
        .string()
        .max(100)
        .optional()
        .openapi({ param: { name: "meeting_sid", in: "query" }, description: "Only events of this meeting" }),
      type: z
        .string()
        .max(1000)
        .optional()
        .openapi({
          param: { name: "type", in: "query" },
          description: "Comma-separated event types",
          example: "call.joined,call.left",
        }),
      last_event_id: z
        .string()
        .max(40)
        .optional()
        .openapi({
          param: { name: "last_event_id", in: "query" },
          description: "As the Last-Event-ID header, for clients that cannot set it",
        }),
    }),
    headers: z.object({
      "last-event-id": z
        .string()
        .max(40)
        .optional()
        .openapi({ param: { name: "last-event-id", in: "header" }, description: "Resume after this event id" }),
    }),
  },
  responses: {
    200: {
      description: "The event stream",
      content: {
        "text/event-stream": {
          schema: z
            .string()
            .openapi({ example: `id: 1718000000000-0\nevent: call.joined\ndata: ${JSON.stringify(EXAMPLE_EVENT)}\n\n` }),
        },
      },
    },
    ...errors(401, 422),
    429: {
      description: "Too many open event streams for the account",
      content: { "application/json": { schema: z.object({ message: z.string(), errors: z.array(z.unknown()) }) } },
    },
  },
});

/** Parses `type=`: known types only (422 naming the first unknown one). */
function parseTypes(raw: string | undefined): Set<PublicEventType> | null {
  if (raw === undefined || raw.trim() === "") return null;
  const out = new Set<PublicEventType>();
  for (const t of raw.split(",")) {
    const s = t.trim();
    if (!(PUBLIC_EVENT_TYPES as readonly string[]).includes(s))
      throw invalidField("type", `unknown event type "${s.slice(0, 40)}"; one of ${PUBLIC_EVENT_TYPES.join(", ")}`);
    out.add(s as PublicEventType);
  }
  return out;
}

/**
 * The `/events` route.
 * @example conference.route("/", eventsRoutes({ maxPerAccount: 10 }));
 */
export function eventsRoutes(limits: EventStreamLimits = {}): OpenAPIHono<AppEnv> {
  const maxPerAccount = limits.maxPerAccount ?? DEFAULT_EVENT_STREAMS_PER_ACCOUNT;
  const maxTotal = limits.maxTotal ?? DEFAULT_EVENT_STREAMS_TOTAL;
  const keepAliveMs = limits.keepAliveMs ?? DEFAULT_EVENT_KEEPALIVE_MS;
  const open = new Map<string, number>();
  let total = 0;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(route, async (c) => {
    const store = c.var.services.sessionStore;
    if (!store) throw serviceUnavailable();
    const { accountSid } = c.var.principal;
    const query = c.req.valid("query");
    const types = parseTypes(query.type);
    const meetingSid = query.meeting_sid;
    const lastEventId = c.req.header("last-event-id") ?? query.last_event_id ?? null;
    if (lastEventId !== null && !isEventId(lastEventId))
      throw invalidField("Last-Event-ID", "not an event id (as sent in `id:`)");
    const mine = open.get(accountSid) ?? 0;
    if (mine >= maxPerAccount || total >= maxTotal) {
      return c.json(
        {
          message: "too many requests",
          errors: [
            item(
              null,
              mine >= maxPerAccount
                ? `at most ${maxPerAccount} open event streams per account`
                : "too many open event streams; try again later",
            ),
          ],
        },
        429,
        { "Retry-After": "5" },
      );
    }
    open.set(accountSid, mine + 1);
    total++;
    // Bun closes a connection idle for its idleTimeout (10 s by default): this one is
    // idle between events by design, and its keep-alives are what keep proxies open.
    (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
    const body = eventStream({
      log: store.eventLog,
      accountSid,
      lastEventId,
      accept: (e) => (types === null || types.has(e.type)) && (meetingSid === undefined || e.meetingSid === meetingSid),
      keepAliveMs,
      signal: c.req.raw.signal,
      onClose: () => {
        total--;
        const n = (open.get(accountSid) ?? 1) - 1;
        if (n <= 0) open.delete(accountSid);
        else open.set(accountSid, n);
      },
      onError: (err) => console.error(`api: event stream of ${accountSid} ended:`, err instanceof Error ? err.message : err),
    });
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        // Proxies (nginx) must pass each event on at once.
        "X-Accel-Buffering": "no",
      },
    }) as never;
  });
  return app;
}
