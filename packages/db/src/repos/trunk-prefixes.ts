import { asc, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/accounts.ts";
import { trunkPrefixes } from "../schema/trunk-prefixes.ts";
import {
  conflict,
  type DbResult,
  deleteBySid,
  type FieldError,
  type FieldMap,
  invalid,
  iso,
  isUniqueViolation,
  ok,
  type OperatorCollectionRepo,
  rowBySid,
} from "./common.ts";
import { listPager } from "./list-page.ts";
import { resolveOwner } from "./refs.ts";

/** A trunk prefix as the operator routes return it (not in the reference; same conventions). */
export interface PrefixObject {
  account_sid: string;
  date_created: string;
  endpoint_sid: string;
  prefix: string;
  prefix_sid: string;
}

/** Filterable and sortable fields of trunk prefixes. */
export const prefixFields = {
  account_sid: trunkPrefixes.accountSid,
  date_created: trunkPrefixes.dateCreated,
  endpoint_sid: accounts.endpointSid,
  prefix: trunkPrefixes.prefix,
  prefix_sid: trunkPrefixes.prefixSid,
} as const satisfies FieldMap;

export interface AddPrefixInput {
  /** 1 to 15 digits. */
  prefix: string;
  endpoint_sid?: string;
  account_sid?: string;
}

export interface TrunkPrefixesRepo extends OperatorCollectionRepo<typeof prefixFields, PrefixObject> {
  /** A prefix already routed (to any account) is a `conflict`. */
  add(input: AddPrefixInput): Promise<DbResult<PrefixObject>>;
  remove(prefixSid: string): Promise<DbResult<void>>;
}

/**
 * Operator access to trunk prefixes.
 * @example await trunkPrefixesRepo(db).add({ prefix: "7777", endpoint_sid });
 */
export function trunkPrefixesRepo(db: Db): TrunkPrefixesRepo {
  const columns = {
    accountSid: trunkPrefixes.accountSid,
    dateCreated: trunkPrefixes.dateCreated,
    endpointSid: accounts.endpointSid,
    prefix: trunkPrefixes.prefix,
    prefixSid: trunkPrefixes.prefixSid,
  };
  const toApi = (r: {
    accountSid: string;
    dateCreated: Date;
    endpointSid: string;
    prefix: string;
    prefixSid: string;
  }): PrefixObject => ({
    account_sid: r.accountSid,
    date_created: iso(r.dateCreated),
    endpoint_sid: r.endpointSid,
    prefix: r.prefix,
    prefix_sid: r.prefixSid,
  });
  const withEndpoint = { table: accounts, on: eq(accounts.accountSid, trunkPrefixes.accountSid) };
  const joined = () => db.select(columns).from(trunkPrefixes).innerJoin(withEndpoint.table, withEndpoint.on);
  const pages = listPager(db, {
    table: trunkPrefixes,
    join: withEndpoint,
    account: trunkPrefixes.accountSid,
    columns,
    tiebreak: [asc(trunkPrefixes.dateCreated), asc(trunkPrefixes.prefixSid)],
    toApi,
  });

  return {
    fields: prefixFields,
    async add(input) {
      const errors: FieldError[] = [];
      const prefix = input.prefix;
      if (typeof prefix !== "string" || !/^[0-9]{1,15}$/.test(prefix)) {
        errors.push({ field: "prefix", message: "must be 1 to 15 digits" });
      }
      const owner = await resolveOwner(db, input);
      if (!owner.ok) errors.push(owner.error);
      if (errors.length || !owner.ok) return invalid(errors);
      try {
        const [row] = await db.insert(trunkPrefixes).values({ prefix, accountSid: owner.accountSid }).returning();
        return ok(toApi({ ...row!, endpointSid: owner.endpointSid }));
      } catch (e) {
        if (isUniqueViolation(e, "trunk_prefixes_prefix_unique")) {
          return conflict([{ field: "prefix", message: `prefix ${prefix} is already routed` }]);
        }
        throw e;
      }
    },
    remove: (sid) => deleteBySid(db, trunkPrefixes, trunkPrefixes.prefixSid, sid, "prefix"),
    get: (sid) => rowBySid(sid, "prefix", (s) => joined().where(eq(trunkPrefixes.prefixSid, s)), toApi),
    list: pages.all,
  };
}
