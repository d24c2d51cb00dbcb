import type { AttributeOverrides } from "@conf/call-flow";
import { jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { callFlows } from "./call-flows.ts";
import { endpoints } from "./endpoints.ts";

/** The account of a conference endpoint: the Conference API's credentials and top configuration level. */
export const accounts = pgTable("accounts", {
  accountSid: uuid("account_sid").primaryKey().defaultRandom(),
  endpointSid: uuid("endpoint_sid")
    .notNull()
    .unique()
    .references(() => endpoints.endpointSid, { onDelete: "cascade" }),
  login: text("login").notNull().unique(),
  /** argon2id (Bun.password); the plain password is never stored. */
  passwordHash: text("password_hash").notNull(),
  name: text("name").notNull().default("N/A"),
  callFlowSid: uuid("call_flow_sid").references(() => callFlows.callFlowSid, { onDelete: "set null" }),
  attributes: jsonb("attributes").$type<AttributeOverrides>().notNull().default({}),
  dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});
