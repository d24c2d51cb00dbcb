import { PUBLIC_EVENT_TYPES } from "@conf/session-store";
import { z } from "@hono/zod-openapi";
import { pageSchema, sidParam } from "../../lib/openapi.ts";

const NOT_IN_REFERENCE = "Not in the reference. ";

const EXAMPLE = {
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  date_created: "2024-06-10T06:13:20.000Z",
  types: ["call.joined", "call.left"],
  url: "https://hooks.example.com/conference",
  webhook_sid: "5d1c3a4e-2b6f-4c8d-9e0a-1b2c3d4e5f60",
};

/** The Webhook object (not in the reference). */
export const WebhookSchema = z
  .object({
    account_sid: z.string().openapi({ description: "The account of the webhook (read only)" }),
    date_created: z.string().openapi({ description: "When it was created (read only)" }),
    types: z
      .array(z.string().openapi({ enum: [...PUBLIC_EVENT_TYPES] }))
      .nullable()
      .openapi({ description: "The event types delivered; null: every type, including types added later" }),
    url: z.string().openapi({ description: "Where each event is POSTed as JSON" }),
    webhook_sid: z.string().openapi({ description: "The webhook secure ID (read only)" }),
  })
  .openapi("Webhook", {
    description: `${NOT_IN_REFERENCE}Each event (the Event object of GET /events) is POSTed as JSON with the header \`Conference-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>\`. A non-2xx answer or a timeout is tried again with exponential backoff for a day.`,
    example: EXAMPLE,
  });

/** The creation answer: the object and its signing secret, shown only this once. */
export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: "The HMAC-SHA256 key of Conference-Signature; shown only in this answer" }),
}).openapi("CreatedWebhook", {
  example: { ...EXAMPLE, secret: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
});

export const WebhookPageSchema = pageSchema(WebhookSchema, "WebhookPage");
export const WEBHOOK_FIELDS = Object.keys(WebhookSchema.shape);

/** POST body. */
export const WebhookInputSchema = z
  .strictObject({
    url: z.string({ error: "must be a string" }).max(2048, "must be at most 2048 characters"),
    types: z
      .array(z.enum(PUBLIC_EVENT_TYPES, { error: `must be one of ${PUBLIC_EVENT_TYPES.join(", ")}` }))
      .min(1, "must name at least one type (leave it out for every type)")
      .max(PUBLIC_EVENT_TYPES.length * 2)
      .nullable()
      .optional(),
  })
  .openapi("WebhookInput", { example: { url: EXAMPLE.url, types: EXAMPLE.types } });

export const WebhookParams = sidParam("webhook_sid", EXAMPLE.webhook_sid);
