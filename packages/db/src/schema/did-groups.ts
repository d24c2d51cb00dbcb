import type { AttributeOverrides } from "@conf/call-flow";
import { jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { callFlows } from "./call-flows.ts";

/** DID groups of an account. */
export const didGroups = pgTable(
  "did_groups",
  {
    didGroupSid: uuid("did_group_sid").primaryKey().defaultRandom(),
    accountSid: uuid("account_sid")
      .notNull()
      .references(() => accounts.accountSid, { onDelete: "cascade" }),
    name: text("name").notNull().default("N/A"),
    callFlowSid: uuid("call_flow_sid").references(() => callFlows.callFlowSid, { onDelete: "set null" }),
    attributes: jsonb("attributes").$type<AttributeOverrides>().notNull().default({}),
    dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  // Target of the (account_sid, did_group_sid) foreign keys of dids and meeting_rooms,
  // which let the database refuse a reference to another account's DID group.
  (t) => [unique("did_groups_account_sid_did_group_sid_unique").on(t.accountSid, t.didGroupSid)],
);
