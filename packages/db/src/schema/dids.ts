import type { AttributeOverrides } from "@conf/call-flow";
import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { callFlows } from "./call-flows.ts";
import { ownDidGroupKey } from "./did-groups.ts";

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
    ownDidGroupKey("dids_did_group_fk", t),
    index("dids_account_sid_idx").on(t.accountSid),
  ],
);
