import { type AttributeOverrides, ROLES, type Role } from "@conf/call-flow";
import { and, asc, eq, fillPlaceholders, inArray, ne, type Placeholder, type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db, DbOrTx, RawQuery } from "../client.ts";
import { accessCodes, meetingRooms } from "../schema/meeting-rooms.ts";
import { type AttributesChange, accountUpdates, attributeUpdater } from "./attribute-update.ts";
import {
  type AccountCollectionRepo,
  accountRows,
  type AttributesPatch,
  checkAttributes,
  checkString,
  conflict,
  type DbResult,
  type FieldError,
  type FieldMap,
  invalid,
  isForeignKeyViolation,
  isUniqueViolation,
  isUuid,
  notFound,
  ok,
  sortedAttributes,
} from "./common.ts";
import { listPager, type PageRequest, type PageRows } from "./list-page.ts";
import { checkDidGroupRef } from "./refs.ts";

/** A Meeting Key object: an access code and the role it grants. */
export interface AccessCodeObject {
  access_code: string;
  role: Role;
}

/** A Meeting Room object in the reference's JSON shape. */
export interface MeetingRoomObject {
  access_codes: AccessCodeObject[];
  account_sid: string;
  attributes: AttributeOverrides;
  did_group_sid: string | null;
  meeting_room_sid: string;
  name: string;
}

/** Filterable and sortable fields of meeting rooms. */
export const meetingRoomFields = {
  account_sid: meetingRooms.accountSid,
  attributes: meetingRooms.attributes,
  did_group_sid: meetingRooms.didGroupSid,
  meeting_room_sid: meetingRooms.meetingRoomSid,
  name: meetingRooms.name,
} as const satisfies FieldMap;

/** POST and PUT body (PUT: fields left out go back to name `N/A`, no DID group, `{}`, `[]`). */
export interface MeetingRoomInput {
  name?: string;
  did_group_sid?: string | null;
  attributes?: AttributeOverrides;
  access_codes?: readonly AccessCodeObject[];
}

/** PATCH body: only given fields change; `access_codes` is replaced whole, attributes merge unless `nestedObjects` is `replace`. */
export interface MeetingRoomPatch {
  name?: string;
  did_group_sid?: string | null;
  attributes?: AttributesPatch;
  access_codes?: readonly AccessCodeObject[];
}

export const MEETING_ROOM_DEFAULTS = { name: "N/A", did_group_sid: null, attributes: {}, access_codes: [] } as const;

/** What an access code may be: keypad characters, `#` excluded (it ends the entry). */
export const ACCESS_CODE_RE = /^[0-9*]{1,32}$/;

/** Validates an `access_codes` array: shape, code format, roles, and no code twice in it. */
export function checkAccessCodes(input: unknown): DbResult<AccessCodeObject[]> {
  const field = "access_codes";
  if (!Array.isArray(input)) return invalid([{ field, message: "must be an array" }]);
  const errors: FieldError[] = [];
  const out: AccessCodeObject[] = [];
  const seen = new Set<string>();
  input.forEach((item: unknown, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      errors.push({ field, message: `item ${i} must be an object with access_code and role` });
      return;
    }
    const { access_code, role, ...rest } = item as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) errors.push({ field, message: `item ${i}: unknown field ${extra[0]}` });
    if (typeof access_code !== "string" || !ACCESS_CODE_RE.test(access_code)) {
      errors.push({ field, message: `item ${i}: access_code must be 1 to 32 keypad characters of 0-9 and *` });
      return;
    }
    if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
      errors.push({ field, message: `item ${i}: role must be one of ${ROLES.join(", ")}` });
      return;
    }
    if (seen.has(access_code)) {
      errors.push({ field, message: `access code ${access_code} appears more than once` });
      return;
    }
    seen.add(access_code);
    out.push({ access_code, role: role as Role });
  });
  return errors.length ? invalid(errors) : { ok: true, value: out };
}

/** The constraint that makes access codes unique within an account. */
export const ACCESS_CODE_UNIQUE = "access_codes_account_sid_access_code_unique";

export type MeetingRoomsRepo = AccountCollectionRepo<
  typeof meetingRoomFields,
  MeetingRoomObject,
  MeetingRoomInput,
  MeetingRoomPatch
>;

type RoomRow = typeof meetingRooms.$inferSelect;

function toApi(row: RoomRow, codes: AccessCodeObject[]): MeetingRoomObject {
  return {
    access_codes: codes,
    account_sid: row.accountSid,
    attributes: sortedAttributes(row.attributes),
    did_group_sid: row.didGroupSid,
    meeting_room_sid: row.meetingRoomSid,
    name: row.name,
  };
}

async function codesOf(db: DbOrTx, roomSids: string[]): Promise<Map<string, AccessCodeObject[]>> {
  const byRoom = new Map<string, AccessCodeObject[]>(roomSids.map((s) => [s, []]));
  if (roomSids.length === 0) return byRoom;
  const rows = await db
    .select()
    .from(accessCodes)
    .where(inArray(accessCodes.meetingRoomSid, roomSids))
    .orderBy(asc(accessCodes.meetingRoomSid), asc(accessCodes.position));
  for (const r of rows) byRoom.get(r.meetingRoomSid)?.push({ access_code: r.accessCode, role: r.role });
  return byRoom;
}

const dialect = new PgDialect();

/**
 * One page of rooms in one round trip: the page's rows, how many rows match in all
 * (`count(*) over ()`, computed before LIMIT) and each room's codes as an array of
 * `[access_code, role]` pairs. The codes' subquery sits outside the paged subquery so it
 * runs for the page's rows only, not for the rows OFFSET skips; `ord` keeps the inner
 * order, which a subquery alone does not promise to. An ARRAY() subquery rather than
 * json_agg: with pgbench (-M prepared, 4 clients) json_agg's per-room aggregate state
 * made the statement ~3.5x costlier for the server (5.5k vs 18k statements/s), and a
 * correlated subquery keeps its per-room index lookups whatever the generic plan
 * estimates, where a join might turn into a scan of every account's codes.
 */
function pageSql(
  scope: SQL | undefined,
  orderBy: readonly SQL[],
  limit: number | Placeholder,
  offset: number | Placeholder,
): SQL {
  const ordering = sql.join([...orderBy, asc(meetingRooms.dateCreated), asc(meetingRooms.meetingRoomSid)], sql`, `);
  return sql`select p.meeting_room_sid, p.account_sid, p.name, p.did_group_sid, p.attributes, p.total,
  array(select array[${accessCodes.accessCode}, ${accessCodes.role}] from ${accessCodes}
    where ${accessCodes.meetingRoomSid} = p.meeting_room_sid order by ${accessCodes.position}) as access_codes
from (
  select ${meetingRooms.meetingRoomSid}, ${meetingRooms.accountSid}, ${meetingRooms.name}, ${meetingRooms.didGroupSid}, ${meetingRooms.attributes},
    (count(*) over ())::int as total, row_number() over (order by ${ordering}) as ord
  from ${meetingRooms} where ${scope} order by ${ordering} limit ${limit} offset ${offset}
) p order by p.ord`;
}

// The unfiltered, default-ordered page (the common request) compiled once.
const DEFAULT_PAGE = dialect.sqlToQuery(
  pageSql(eq(meetingRooms.accountSid, sql.placeholder("accountSid")), [], sql.placeholder("limit"), sql.placeholder("offset")),
);

interface PageRow {
  meeting_room_sid: string;
  account_sid: string;
  name: string;
  did_group_sid: string | null;
  attributes: AttributeOverrides;
  total: number;
  access_codes: [string, Role][];
}

function pageRowToApi(r: PageRow): MeetingRoomObject {
  return {
    access_codes: r.access_codes.map(([access_code, role]) => ({ access_code, role })),
    account_sid: r.account_sid,
    attributes: sortedAttributes(r.attributes),
    did_group_sid: r.did_group_sid,
    meeting_room_sid: r.meeting_room_sid,
    name: r.name,
  };
}

// Thrown inside a transaction to roll it back when the room is not the account's.
class RoomNotFound extends Error {}

/**
 * Meeting rooms of an account with their access codes. Codes are unique within the
 * account across all its rooms, enforced by the database (UNIQUE(account_sid,
 * access_code)); a clash is a `conflict` naming the code and the room that has it.
 * `rawQuery` is the database's (`Database.rawQuery`): the list runs through it.
 * @example
 * await meetingRoomsRepo(database.db, database.rawQuery).create(accountSid, { name: "My meeting room", access_codes: [{ access_code: "890671", role: "host" }] });
 */
export function meetingRoomsRepo(db: Db, rawQuery: RawQuery): MeetingRoomsRepo {
  const rows = accountRows(
    db,
    meetingRooms,
    { account: meetingRooms.accountSid, sid: meetingRooms.meetingRoomSid },
    "meeting room",
  );
  const get = (accountSid: string, sid: string) =>
    rows.get(accountSid, sid, async (row) => toApi(row, (await codesOf(db, [sid])).get(sid) ?? []));

  /** The 409 for codes another room of the account already has (found after the rollback). */
  async function codeConflict(accountSid: string, roomSid: string | null, codes: AccessCodeObject[]) {
    const taken = await db
      .select({ code: accessCodes.accessCode, room: accessCodes.meetingRoomSid })
      .from(accessCodes)
      .where(
        and(
          eq(accessCodes.accountSid, accountSid),
          inArray(
            accessCodes.accessCode,
            codes.map((c) => c.access_code),
          ),
          roomSid ? ne(accessCodes.meetingRoomSid, roomSid) : undefined,
        ),
      );
    const errors: FieldError[] = taken.length
      ? taken.map((t) => ({
          field: "access_codes",
          message: `access code ${t.code} is already used by another meeting room`,
          referenceSid: t.room,
        }))
      : [{ field: "access_codes", message: "an access code is already used by another meeting room" }];
    return conflict(errors);
  }

  async function insertCodes(tx: DbOrTx, accountSid: string, roomSid: string, codes: AccessCodeObject[]) {
    if (codes.length === 0) return;
    await tx
      .insert(accessCodes)
      .values(
        codes.map((c, position) => ({ meetingRoomSid: roomSid, accountSid, accessCode: c.access_code, role: c.role, position })),
      );
  }

  /** Validates the plain fields and the codes of a create/update/replace, all errors at once. */
  async function check(
    accountSid: string,
    body: { name?: unknown; did_group_sid?: unknown; access_codes?: unknown },
    attributeErrors: readonly FieldError[],
  ): Promise<DbResult<AccessCodeObject[] | undefined>> {
    const errors: FieldError[] = [];
    if (body.name !== undefined) {
      const e = checkString("name", body.name);
      if (e) errors.push(e);
    }
    errors.push(...attributeErrors);
    const dg = await checkDidGroupRef(db, accountSid, body.did_group_sid);
    if (dg) errors.push(dg);
    let codes: AccessCodeObject[] | undefined;
    if (body.access_codes !== undefined) {
      const c = checkAccessCodes(body.access_codes);
      if (c.ok) codes = c.value;
      else errors.push(...(c.error.errors ?? []));
    }
    return errors.length ? invalid(errors) : ok(codes);
  }

  function mapWriteError(e: unknown, accountSid: string, roomSid: string | null, codes: AccessCodeObject[] | undefined) {
    if (isUniqueViolation(e, ACCESS_CODE_UNIQUE)) return codeConflict(accountSid, roomSid, codes ?? []);
    if (isForeignKeyViolation(e, "meeting_rooms_did_group_fk")) {
      return Promise.resolve(invalid([{ field: "did_group_sid", message: "DID group not found" }]));
    }
    return undefined;
  }

  async function write(
    [accountSid, sid]: [string, string],
    body: { name?: string; did_group_sid?: string | null; access_codes?: unknown },
    attributes: AttributesChange,
    attributeErrors: readonly FieldError[],
  ): Promise<DbResult<MeetingRoomObject>> {
    if (!rows.valid(accountSid, sid)) return rows.missing();
    const checked = await check(accountSid, body, attributeErrors);
    if (!checked.ok) return checked;
    const codes = checked.value;
    const set: Partial<typeof meetingRooms.$inferInsert> = {};
    if (body.name !== undefined) set.name = body.name;
    if (body.did_group_sid !== undefined) set.didGroupSid = body.did_group_sid;
    if (attributes !== undefined) set.attributes = attributes as AttributeOverrides;
    try {
      const row = await db.transaction(async (tx) => {
        // Locks the row even when no column changes, so concurrent code replacements serialize.
        const [r] =
          Object.keys(set).length > 0
            ? await tx.update(meetingRooms).set(set).where(rows.where(accountSid, sid)).returning()
            : await tx.select().from(meetingRooms).where(rows.where(accountSid, sid)).for("update");
        if (!r) throw new RoomNotFound();
        if (codes !== undefined) {
          await tx.delete(accessCodes).where(eq(accessCodes.meetingRoomSid, sid));
          await insertCodes(tx, accountSid, sid, codes);
        }
        return r;
      });
      return ok(toApi(row, (await codesOf(db, [sid])).get(sid) ?? []));
    } catch (e) {
      if (e instanceof RoomNotFound) return rows.missing();
      const mapped = mapWriteError(e, accountSid, sid, codes);
      if (mapped) return mapped;
      throw e;
    }
  }

  /** The page in one statement, through `rawQuery`; its total is unknown only when the page is empty. */
  async function page({ accountSid, scope, where, orderBy, limit, offset }: PageRequest): Promise<PageRows<MeetingRoomObject>> {
    let rows: PageRow[];
    if (where === undefined && (orderBy ?? []).length === 0) {
      const params = fillPlaceholders(DEFAULT_PAGE.params, { accountSid, limit, offset });
      rows = (await rawQuery(DEFAULT_PAGE.sql, params, { prepare: true })) as unknown as PageRow[];
    } else {
      // An order's text comes from the fields' fixed set and is prepared; a filter's is
      // the user's and never is (see RawQueryOptions.prepare).
      const q = dialect.sqlToQuery(pageSql(scope, orderBy ?? [], limit, offset));
      rows = (await rawQuery(q.sql, q.params, { prepare: where === undefined })) as unknown as PageRow[];
    }
    // An empty page says nothing about the rows before it (past the end, or limit 0).
    const total = rows.length === 0 && (offset > 0 || limit === 0) ? undefined : (rows[0]?.total ?? 0);
    return { items: rows.map(pageRowToApi), total };
  }

  const pages = listPager(db, { table: meetingRooms, account: meetingRooms.accountSid, page });
  const updater = attributeUpdater({
    column: meetingRooms.attributes,
    putFields: (body: MeetingRoomInput) => ({
      name: body.name ?? MEETING_ROOM_DEFAULTS.name,
      did_group_sid: body.did_group_sid === undefined ? MEETING_ROOM_DEFAULTS.did_group_sid : body.did_group_sid,
      access_codes: body.access_codes ?? MEETING_ROOM_DEFAULTS.access_codes,
    }),
    write,
    // All of a room's 422 entries at once, the attributes' with the codes'.
    attributeErrors: "with-fields",
  });

  return {
    fields: meetingRoomFields,
    get,
    async create(accountSid, input) {
      if (!isUuid(accountSid)) return notFound("account");
      const a = checkAttributes(input.attributes);
      const checked = await check(accountSid, input, a.ok ? [] : (a.error.errors ?? []));
      if (!checked.ok) return checked;
      if (!a.ok) return a;
      const codes = checked.value ?? [];
      try {
        const row = await db.transaction(async (tx) => {
          const [r] = await tx
            .insert(meetingRooms)
            .values({
              accountSid,
              name: input.name ?? MEETING_ROOM_DEFAULTS.name,
              didGroupSid: input.did_group_sid ?? null,
              attributes: a.value,
            })
            .returning();
          await insertCodes(tx, accountSid, r!.meetingRoomSid, codes);
          return r!;
        });
        return ok(toApi(row, codes));
      } catch (e) {
        const mapped = mapWriteError(e, accountSid, null, codes);
        if (mapped) return mapped;
        throw e;
      }
    },
    list: pages.ofAccount,
    ...accountUpdates(updater),
    delete: rows.delete,
  };
}
