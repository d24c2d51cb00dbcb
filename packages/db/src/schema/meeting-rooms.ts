import type { AttributeOverrides } from "@conf/call-flow";
import { ROLES, type Role } from "@conf/call-flow";
import { sql } from "drizzle-orm";
import {
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { ownDidGroupKey } from "./did-groups.ts";

/** Meeting rooms of an account. */
export const meetingRooms = pgTable(
  "meeting_rooms",
  {
    meetingRoomSid: uuid("meeting_room_sid").primaryKey().defaultRandom(),
    accountSid: uuid("account_sid")
      .notNull()
      .references(() => accounts.accountSid, { onDelete: "cascade" }),
    name: text("name").notNull().default("N/A"),
    didGroupSid: uuid("did_group_sid"),
    attributes: jsonb("attributes").$type<AttributeOverrides>().notNull().default({}),
    dateCreated: timestamp("date_created", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // Target of access_codes' (meeting_room_sid, account_sid) key.
    unique("meeting_rooms_meeting_room_sid_account_sid_unique").on(t.meetingRoomSid, t.accountSid),
    ownDidGroupKey("meeting_rooms_did_group_fk", t),
    index("meeting_rooms_account_sid_idx").on(t.accountSid),
  ],
);

const roleList = sql.raw(ROLES.map((r) => `'${r}'`).join(", "));

/**
 * Access codes of meeting rooms. `account_sid` is copied from the room (a composite
 * foreign key keeps it equal) so that UNIQUE(account_sid, access_code) makes the
 * database refuse one code in two rooms of an account.
 */
export const accessCodes = pgTable(
  "access_codes",
  {
    meetingRoomSid: uuid("meeting_room_sid").notNull(),
    accountSid: uuid("account_sid").notNull(),
    accessCode: text("access_code").notNull(),
    role: text("role").$type<Role>().notNull(),
    /** Index in the room's `access_codes` array, to return them in the order given. */
    position: integer("position").notNull(),
  },
  (t) => [
    primaryKey({ name: "access_codes_pkey", columns: [t.meetingRoomSid, t.position] }),
    unique("access_codes_account_sid_access_code_unique").on(t.accountSid, t.accessCode),
    foreignKey({
      name: "access_codes_meeting_room_fk",
      columns: [t.meetingRoomSid, t.accountSid],
      foreignColumns: [meetingRooms.meetingRoomSid, meetingRooms.accountSid],
    }).onDelete("cascade"),
    check("access_codes_role_check", sql`${t.role} in (${roleList})`),
    check("access_codes_access_code_check", sql`${t.accessCode} ~ '^[0-9*#]{1,32}$'`),
    check("access_codes_position_check", sql`${t.position} >= 0`),
  ],
);
