import type { AttributeOverrides } from "@conf/call-flow";
import type { Db } from "../client.ts";
import { didGroups } from "../schema/did-groups.ts";
import { type AttributesChange, accountUpdates, attributeUpdater } from "./attribute-update.ts";
import {
  type AccountCollectionRepo,
  accountRows,
  type AttributesPatch,
  type CallFlowLevelObject,
  callFlowLevelToApi,
  checkAttributes,
  checkString,
  type DbResult,
  type FieldError,
  type FieldMap,
  invalid,
  isUuid,
  notFound,
  ok,
} from "./common.ts";
import { listPager, ownedListing } from "./list-page.ts";
import { checkCallFlowRef } from "./refs.ts";

/** A DID Group object in the reference's JSON shape. */
export interface DidGroupObject extends CallFlowLevelObject {
  did_group_sid: string;
  name: string;
}

/** Filterable and sortable fields of DID groups. */
export const didGroupFields = {
  account_sid: didGroups.accountSid,
  attributes: didGroups.attributes,
  call_flow_sid: didGroups.callFlowSid,
  did_group_sid: didGroups.didGroupSid,
  name: didGroups.name,
} as const satisfies FieldMap;

/** POST and PUT body (PUT: fields left out go back to these defaults: name `N/A`, no call flow, no attributes). */
export interface DidGroupInput {
  name?: string;
  call_flow_sid?: string | null;
  attributes?: AttributeOverrides;
}

/** PATCH body: only the given fields change; attributes merge unless `nestedObjects` is `replace`. */
export interface DidGroupPatch {
  name?: string;
  call_flow_sid?: string | null;
  attributes?: AttributesPatch;
}

export const DID_GROUP_DEFAULTS = { name: "N/A", call_flow_sid: null, attributes: {} } as const;

function toApi(row: typeof didGroups.$inferSelect): DidGroupObject {
  return { ...callFlowLevelToApi(row), did_group_sid: row.didGroupSid, name: row.name };
}

/** `delete` leaves the group's DIDs and meeting rooms in place with `did_group_sid` null. */
export type DidGroupsRepo = AccountCollectionRepo<typeof didGroupFields, DidGroupObject, DidGroupInput, DidGroupPatch>;

/**
 * DID groups of an account. Every operation is scoped: another account's group is
 * `not_found`, exactly as a missing one.
 * @example await didGroupsRepo(db).create(accountSid, { name: "New DID group" });
 */
export function didGroupsRepo(db: Db): DidGroupsRepo {
  const rows = accountRows(db, didGroups, { account: didGroups.accountSid, sid: didGroups.didGroupSid }, "did group");

  async function checkPlain(body: { name?: unknown; call_flow_sid?: unknown }): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    if (body.name !== undefined) {
      const e = checkString("name", body.name);
      if (e) errors.push(e);
    }
    const cf = await checkCallFlowRef(db, body.call_flow_sid);
    if (cf) errors.push(cf);
    return errors;
  }

  const get = (accountSid: string, sid: string) => rows.get(accountSid, sid, toApi);

  async function write(
    [accountSid, sid]: [string, string],
    body: { name?: string; call_flow_sid?: string | null },
    attributes: AttributesChange,
  ): Promise<DbResult<DidGroupObject>> {
    if (!rows.valid(accountSid, sid)) return rows.missing();
    const errors = await checkPlain(body);
    if (errors.length) return invalid(errors);
    const set: Partial<typeof didGroups.$inferInsert> = {};
    if (body.name !== undefined) set.name = body.name;
    if (body.call_flow_sid !== undefined) set.callFlowSid = body.call_flow_sid;
    if (attributes !== undefined) set.attributes = attributes as AttributeOverrides;
    return rows.update(accountSid, sid, set, toApi);
  }

  const pages = listPager(db, ownedListing(didGroups, didGroups.didGroupSid, toApi));
  const updater = attributeUpdater({
    column: didGroups.attributes,
    putFields: (body: DidGroupInput) => ({
      name: body.name ?? DID_GROUP_DEFAULTS.name,
      call_flow_sid: body.call_flow_sid === undefined ? DID_GROUP_DEFAULTS.call_flow_sid : body.call_flow_sid,
    }),
    write,
  });

  return {
    fields: didGroupFields,
    get,
    async create(accountSid, input) {
      if (!isUuid(accountSid)) return notFound("account");
      const a = checkAttributes(input.attributes);
      const errors = [...(await checkPlain(input)), ...(a.ok ? [] : (a.error.errors ?? []))];
      if (errors.length || !a.ok) return invalid(errors);
      const [row] = await db
        .insert(didGroups)
        .values({
          accountSid,
          name: input.name ?? DID_GROUP_DEFAULTS.name,
          callFlowSid: input.call_flow_sid ?? null,
          attributes: a.value,
        })
        .returning();
      return ok(toApi(row!));
    },
    list: pages.ofAccount,
    ...accountUpdates(updater),
    delete: rows.delete,
  };
}
