import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";

/** Where an account's events are POSTed (not in the reference). */
export const webhooks = pgTable(
  "webhooks",
  {
    webhookSid: uuid("webhook_sid").primaryKey().defaultRandom(),
    accountSid: uuid("account_sid")
      .notNull()
      .references(() => accounts.accountSid, { onDelete: "cascade" }),
    url: text("url").notNull(),
    /** Event types delivered; null: every type, including types added later. */
    types: text("types").array(),
    /** HMAC-SHA256 key of the Conference-Signature header. */
    secret: text("secret").notNull(),
    dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index("webhooks_account_sid_idx").on(t.accountSid)],
);
