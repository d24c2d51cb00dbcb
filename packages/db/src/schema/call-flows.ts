import type { Attributes } from "@conf/call-flow";
import { jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";

/** The built-in call flows, seeded from `@conf/call-flow` with their stable SIDs. */
export const callFlows = pgTable("call_flows", {
  callFlowSid: uuid("call_flow_sid").primaryKey(),
  name: text("name").notNull().unique(),
  attributes: jsonb("attributes").$type<Attributes>().notNull(),
});
