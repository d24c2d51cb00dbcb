import type { AccessCodeMatch, AccountLevel, ConfigPort, MeetingRoomLevel } from "@conf/access-router";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { accounts } from "./schema/accounts.ts";
import { didGroups } from "./schema/did-groups.ts";
import { dids } from "./schema/dids.ts";
import { accessCodes, meetingRooms } from "./schema/meeting-rooms.ts";
import { trunkPrefixes } from "./schema/trunk-prefixes.ts";
import { isUuid } from "./repos/common.ts";

/** A meeting room's level with its owning account (not part of the router's level; handy for callers). */
export interface MeetingRoomLevelRow extends MeetingRoomLevel {
  readonly accountSid: string;
}

/** Read-only config lookups for the access router (its `ConfigPort`) plus two by-SID reads. */
export interface ConfigReader extends ConfigPort {
  /** As the port's, with the room's account. */
  findAccessCode(
    accountSid: string,
    code: string,
  ): Promise<(AccessCodeMatch & { readonly meetingRoom: MeetingRoomLevelRow }) | null>;
  getAccount(accountSid: string): Promise<AccountLevel | null>;
  getMeetingRoom(meetingRoomSid: string): Promise<MeetingRoomLevelRow | null>;
}

const accountLevel = { sid: accounts.accountSid, attributes: accounts.attributes, callFlowSid: accounts.callFlowSid };
const roomLevel = {
  sid: meetingRooms.meetingRoomSid,
  attributes: meetingRooms.attributes,
  callFlowSid: sql<null>`null`,
  name: meetingRooms.name,
  didGroupSid: meetingRooms.didGroupSid,
  accountSid: meetingRooms.accountSid,
};

/**
 * Config lookups over the database for the access router. Nothing is cached here; the
 * router caches and invalidates.
 * @example
 * const config = createConfigReader(database);
 * const match = await config.findNumber("15162065919");
 */
export function createConfigReader(database: Pick<Database, "db">): ConfigReader {
  const { db } = database;
  return {
    async findNumber(digits) {
      if (!/^[0-9]+$/.test(digits)) return null;
      if (digits.length <= 15) {
        const [row] = await db
          .select({
            account: accountLevel,
            did: { sid: dids.didSid, attributes: dids.attributes, callFlowSid: dids.callFlowSid, phonenumber: dids.phonenumber },
            groupSid: didGroups.didGroupSid,
            groupAttributes: didGroups.attributes,
            groupCallFlowSid: didGroups.callFlowSid,
          })
          .from(dids)
          .innerJoin(accounts, eq(accounts.accountSid, dids.accountSid))
          .leftJoin(didGroups, eq(didGroups.didGroupSid, dids.didGroupSid))
          .where(eq(dids.phonenumber, digits));
        if (row) {
          const didGroup = row.groupSid
            ? { sid: row.groupSid, attributes: row.groupAttributes ?? {}, callFlowSid: row.groupCallFlowSid ?? null }
            : null;
          return { kind: "did", account: row.account, did: row.did, didGroup };
        }
      }
      // Every leading part of the digits that could be a prefix; the unique index on
      // prefix answers this without scanning.
      const candidates: string[] = [];
      for (let n = Math.min(15, digits.length); n >= 1; n--) candidates.push(digits.slice(0, n));
      const [p] = await db
        .select({ prefix: trunkPrefixes.prefix, account: accountLevel })
        .from(trunkPrefixes)
        .innerJoin(accounts, eq(accounts.accountSid, trunkPrefixes.accountSid))
        .where(inArray(trunkPrefixes.prefix, candidates))
        .orderBy(desc(sql`length(${trunkPrefixes.prefix})`))
        .limit(1);
      return p ? { kind: "prefix", account: p.account, prefix: p.prefix } : null;
    },
    async findAccessCode(accountSid, code) {
      if (!isUuid(accountSid) || typeof code !== "string" || code.length === 0) return null;
      const [row] = await db
        .select({ room: roomLevel, role: accessCodes.role })
        .from(accessCodes)
        .innerJoin(meetingRooms, eq(meetingRooms.meetingRoomSid, accessCodes.meetingRoomSid))
        .where(and(eq(accessCodes.accountSid, accountSid), eq(accessCodes.accessCode, code)));
      return row ? { meetingRoom: row.room, role: row.role } : null;
    },
    async getAccount(sid) {
      if (!isUuid(sid)) return null;
      const [row] = await db.select(accountLevel).from(accounts).where(eq(accounts.accountSid, sid));
      return row ?? null;
    },
    async getMeetingRoom(sid) {
      if (!isUuid(sid)) return null;
      const [row] = await db.select(roomLevel).from(meetingRooms).where(eq(meetingRooms.meetingRoomSid, sid));
      return row ?? null;
    },
  };
}
