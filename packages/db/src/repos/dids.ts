import type { AttributeOverrides } from "@conf/call-flow";
import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { formatPhoneNumber, normalizePhoneNumber } from "../phone.ts";
import { dids } from "../schema/dids.ts";
import { type AttributesChange, accountUpdates, attributeUpdater } from "./attribute-update.ts";
import {
  type AccountCollectionRepo,
  accountRows,
  type AttributesPatch,
  type CallFlowLevelObject,
  callFlowLevelToApi,
  conflict,
  type DbResult,
  deleteBySid,
  type FieldError,
  type FieldMap,
  invalid,
  isForeignKeyViolation,
  isUniqueViolation,
  ok,
  type Page,
  rowBySid,
  type UnscopedListOptions,
} from "./common.ts";
import { listPager, ownedListing } from "./list-page.ts";
import { checkCallFlowRef, checkDidGroupRef, resolveOwner } from "./refs.ts";

/** A DID object in the reference's JSON shape. */
export interface DidObject extends CallFlowLevelObject {
  country_code: string | null;
  did_group_sid: string | null;
  did_sid: string;
  in_country_format: string;
  international_format: string;
  phonenumber: string;
}

/** Filterable and sortable fields of DIDs. */
export const didFields = {
  account_sid: dids.accountSid,
  attributes: dids.attributes,
  call_flow_sid: dids.callFlowSid,
  country_code: dids.countryCode,
  did_group_sid: dids.didGroupSid,
  did_sid: dids.didSid,
  in_country_format: dids.inCountryFormat,
  international_format: dids.internationalFormat,
  phonenumber: dids.phonenumber,
} as const satisfies FieldMap;

/** Operator input: the number and whose it is (`endpoint_sid`, or `account_sid`). */
export interface AssignDidInput {
  phonenumber: string;
  endpoint_sid?: string;
  account_sid?: string;
}

/** PUT body (fields left out go back to null / `{}`). */
export interface DidInput {
  call_flow_sid?: string | null;
  did_group_sid?: string | null;
  attributes?: AttributeOverrides;
}

/** PATCH body: only the given fields change; attributes merge unless `nestedObjects` is `replace`. */
export interface DidPatch {
  call_flow_sid?: string | null;
  did_group_sid?: string | null;
  attributes?: AttributesPatch;
}

function toApi(row: typeof dids.$inferSelect): DidObject {
  return {
    ...callFlowLevelToApi(row),
    country_code: row.countryCode,
    did_group_sid: row.didGroupSid,
    did_sid: row.didSid,
    in_country_format: row.inCountryFormat,
    international_format: row.internationalFormat,
    phonenumber: row.phonenumber,
  };
}

export interface DidsRepo
  extends Omit<AccountCollectionRepo<typeof didFields, DidObject, DidInput, DidPatch>, "create" | "delete"> {
  /** Operator: assigns a number to an account. A number already assigned is a `conflict`. */
  assign(input: AssignDidInput): Promise<DbResult<DidObject>>;
  /** Operator: removes a number from whichever account has it. */
  unassign(didSid: string): Promise<DbResult<void>>;
  /** Operator: a DID by SID, whatever its account. */
  find(didSid: string): Promise<DbResult<DidObject>>;
  /** Operator: DIDs of all accounts, or of `accountSid` when given. */
  listAll(options: UnscopedListOptions): Promise<Page<DidObject>>;
}

/**
 * DIDs: assigned by the operator, configured by their account.
 * @example await didsRepo(db).assign({ phonenumber: "15162065919", endpoint_sid });
 */
export function didsRepo(db: Db): DidsRepo {
  const rows = accountRows(db, dids, { account: dids.accountSid, sid: dids.didSid }, "did");
  const get = (accountSid: string, sid: string) => rows.get(accountSid, sid, toApi);

  async function write(
    [accountSid, sid]: [string, string],
    body: { call_flow_sid?: string | null; did_group_sid?: string | null },
    attributes: AttributesChange,
  ): Promise<DbResult<DidObject>> {
    if (!rows.valid(accountSid, sid)) return rows.missing();
    const errors: FieldError[] = [];
    const cf = await checkCallFlowRef(db, body.call_flow_sid);
    if (cf) errors.push(cf);
    const dg = await checkDidGroupRef(db, accountSid, body.did_group_sid);
    if (dg) errors.push(dg);
    if (errors.length) return invalid(errors);
    const set: Partial<typeof dids.$inferInsert> = {};
    if (body.call_flow_sid !== undefined) set.callFlowSid = body.call_flow_sid;
    if (body.did_group_sid !== undefined) set.didGroupSid = body.did_group_sid;
    if (attributes !== undefined) set.attributes = attributes as AttributeOverrides;
    try {
      return await rows.update(accountSid, sid, set, toApi);
    } catch (e) {
      // The group or flow vanished between the check and the write.
      if (isForeignKeyViolation(e)) {
        const field = isForeignKeyViolation(e, "dids_did_group_fk") ? "did_group_sid" : "call_flow_sid";
        return invalid([{ field, message: `${field === "did_group_sid" ? "DID group" : "call flow"} not found` }]);
      }
      throw e;
    }
  }

  const pages = listPager(db, ownedListing(dids, dids.didSid, toApi));
  const updater = attributeUpdater({
    column: dids.attributes,
    putFields: (body: DidInput) => ({ call_flow_sid: body.call_flow_sid ?? null, did_group_sid: body.did_group_sid ?? null }),
    write,
  });

  return {
    fields: didFields,
    get,
    async assign(input) {
      const errors: FieldError[] = [];
      const digits = typeof input.phonenumber === "string" ? normalizePhoneNumber(input.phonenumber) : null;
      if (!digits) errors.push({ field: "phonenumber", message: "must be a phone number of 1 to 15 digits" });
      const owner = await resolveOwner(db, input);
      if (!owner.ok) errors.push(owner.error);
      if (!digits || !owner.ok) return invalid(errors);
      const f = formatPhoneNumber(digits);
      try {
        const [row] = await db
          .insert(dids)
          .values({
            accountSid: owner.accountSid,
            phonenumber: digits,
            countryCode: f.countryCode,
            inCountryFormat: f.inCountryFormat,
            internationalFormat: f.internationalFormat,
          })
          .returning();
        return ok(toApi(row!));
      } catch (e) {
        if (isUniqueViolation(e, "dids_phonenumber_unique")) {
          return conflict([{ field: "phonenumber", message: `phone number ${digits} is already assigned` }]);
        }
        throw e;
      }
    },
    unassign: (sid) => deleteBySid(db, dids, dids.didSid, sid, "did"),
    find: (sid) => rowBySid(sid, "did", (s) => db.select().from(dids).where(eq(dids.didSid, s)), toApi),
    listAll: pages.all,
    list: pages.ofAccount,
    ...accountUpdates(updater),
  };
}
