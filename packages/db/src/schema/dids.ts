import type { AttributeOverrides } from "@conf/call-flow";
import { sql } from "drizzle-orm";
import { check, foreignKey, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { callFlows } from "./call-flows.ts";
import { didGroups } from "./did-groups.ts";

/** Phone numbers assigned by the operator to an account. */
export const dids = pgTable(
  "dids",
  {
    didSid: uuid("did_sid").primaryKey().defaultRandom(),
    accountSid: uuid("account_sid")
      .notNull()
      .references(() => accounts.accountSid, { onDelete: "cascade" }),
    /** Digits only, country code first (E.164 without the `+`), as the reference shows it. */
    phonenumber: text("phonenumber").notNull().unique(),
    didGroupSid: uuid("did_group_sid"),
    callFlowSid: uuid("call_flow_sid").references(() => callFlows.callFlowSid, { onDelete: "set null" }),
    attributes: jsonb("attributes").$type<AttributeOverrides>().notNull().default({}),
    /** ISO 3166-1 alpha-3, or null when the number's country is unknown. */
    countryCode: text("country_code"),
    inCountryFormat: text("in_country_format").notNull(),
    internationalFormat: text("international_format").notNull(),
    dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    check("dids_phonenumber_check", sql`${t.phonenumber} ~ '^[0-9]{1,15}$'`),
    // Composite so the group must belong to the DID's own account. The migration
    // narrows the action to `SET NULL ("did_group_sid")` (PostgreSQL 15+), which
    // drizzle-kit cannot express: nulling account_sid too would violate NOT NULL.
    foreignKey({
      name: "dids_did_group_fk",
      columns: [t.accountSid, t.didGroupSid],
      foreignColumns: [didGroups.accountSid, didGroups.didGroupSid],
    }).onDelete("set null"),
    index("dids_account_sid_idx").on(t.accountSid),
  ],
);
