import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Endpoint types this service provisions (the reference has more; only `conference` carries calls here). */
export const ENDPOINT_TYPES = ["conference"] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

/** Conference endpoints created by the operator through `/core/v2/endpoints`; each owns one account. */
export const endpoints = pgTable(
  "endpoints",
  {
    endpointSid: uuid("endpoint_sid").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    type: text("type").$type<EndpointType>().notNull().default("conference"),
    partnerSid: uuid("partner_sid").notNull(),
    attributes: jsonb("attributes").$type<Record<string, unknown>>().notNull().default({}),
    created: timestamp("created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [check("endpoints_type_check", sql`${t.type} in ('conference')`)],
);
