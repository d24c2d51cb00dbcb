import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";

/** Trunk prefixes: SIP calls whose dialed number starts with `prefix` go to the account. */
export const trunkPrefixes = pgTable(
  "trunk_prefixes",
  {
    prefixSid: uuid("prefix_sid").primaryKey().defaultRandom(),
    prefix: text("prefix").notNull().unique(),
    accountSid: uuid("account_sid")
      .notNull()
      .references(() => accounts.accountSid, { onDelete: "cascade" }),
    dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [check("trunk_prefixes_prefix_check", sql`${t.prefix} ~ '^[0-9]{1,15}$'`)],
);
