import type { AttributeOverrides } from "@conf/call-flow";
import { type AnyPgColumn, foreignKey, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
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

/**
 * The foreign key of a row's `did_group_sid` (DIDs, meeting rooms): composite, so the
 * group must belong to the row's own account. The migration narrows the action to
 * `SET NULL ("did_group_sid")` (PostgreSQL 15+), which drizzle-kit cannot express:
 * nulling account_sid too would violate NOT NULL.
 * @example (t) => [ownDidGroupKey("dids_did_group_fk", t)]
 */
export function ownDidGroupKey(name: string, t: { accountSid: AnyPgColumn; didGroupSid: AnyPgColumn }) {
  return foreignKey({
    name,
    columns: [t.accountSid, t.didGroupSid],
    foreignColumns: [didGroups.accountSid, didGroups.didGroupSid],
  }).onDelete("set null");
}
