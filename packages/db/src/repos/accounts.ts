import { type AttributeOverrides, DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { asc, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/accounts.ts";
import { type AttributesChange, attributeUpdater } from "./attribute-update.ts";
import {
  type AttributesPatch,
  type CallFlowLevelObject,
  callFlowLevelToApi,
  checkString,
  type DbResult,
  type FieldError,
  type FieldMap,
  invalid,
  iso,
  isUuid,
  type ListOptions,
  type NestedObjects,
  notFound,
  ok,
  type Page,
  rowBySid,
} from "./common.ts";
import { listPager } from "./list-page.ts";
import { checkCallFlowRef } from "./refs.ts";

/** An Account object in the reference's JSON shape (the password is never part of it). */
export interface AccountObject extends CallFlowLevelObject {
  date_created: string;
  login: string;
  name: string;
}

/** Filterable and sortable fields of accounts. */
export const accountFields = {
  account_sid: accounts.accountSid,
  attributes: accounts.attributes,
  call_flow_sid: accounts.callFlowSid,
  date_created: accounts.dateCreated,
  login: accounts.login,
  name: accounts.name,
} as const satisfies FieldMap;

/** PATCH body of an account: only the given fields change. */
export interface AccountPatch {
  name?: string;
  call_flow_sid?: string | null;
  /** Merged by the reference's rules (null removes a key) unless `nestedObjects` is `replace`. */
  attributes?: AttributesPatch;
  /** New password; stored as an argon2id hash. */
  password?: string;
}

/** PUT body of an account: updatable fields left out go back to their defaults (password: unchanged). */
export interface AccountReplace {
  name?: string;
  call_flow_sid?: string | null;
  attributes?: AttributeOverrides;
  password?: string;
}

/** Defaults a PUT applies to fields it leaves out. */
export const ACCOUNT_DEFAULTS = { name: "N/A", call_flow_sid: DEFAULT_CALL_FLOW_SID } as const;

/** Shortest password accepted on update. */
export const PASSWORD_MIN_LENGTH = 8;

export const accountColumns = {
  accountSid: accounts.accountSid,
  attributes: accounts.attributes,
  callFlowSid: accounts.callFlowSid,
  dateCreated: accounts.dateCreated,
  login: accounts.login,
  name: accounts.name,
} as const;

export function accountToApi(row: {
  accountSid: string;
  attributes: AttributeOverrides;
  callFlowSid: string | null;
  dateCreated: Date;
  login: string;
  name: string;
}): AccountObject {
  return {
    ...callFlowLevelToApi(row),
    date_created: iso(row.dateCreated),
    login: row.login,
    name: row.name,
  };
}

/** Hashes a password with argon2id (OWASP's minimum cost: 19 MiB, 2 passes). */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 });
}

function checkPassword(value: unknown): FieldError | null {
  const e = checkString("password", value, { max: 128 });
  if (e) return e;
  return (value as string).length < PASSWORD_MIN_LENGTH
    ? { field: "password", message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }
    : null;
}

export interface AccountsRepo {
  readonly fields: typeof accountFields;
  get(accountSid: string): Promise<DbResult<AccountObject>>;
  /** An account sees only itself: the list holds at most its own object. */
  list(options: ListOptions): Promise<Page<AccountObject>>;
  update(accountSid: string, patch: AccountPatch, options?: { nestedObjects?: NestedObjects }): Promise<DbResult<AccountObject>>;
  replace(accountSid: string, body: AccountReplace): Promise<DbResult<AccountObject>>;
  /** The account whose login and password these are, else null (argon2id verification). */
  verifyLogin(login: string, password: string): Promise<AccountObject | null>;
}

// Verified against when the login does not exist, so a wrong login costs as much time
// as a wrong password and does not reveal which logins exist.
let dummyHash: Promise<string> | undefined;

/**
 * Accounts of conference endpoints (created with their endpoint, see `endpointsRepo`).
 * @example const r = await accountsRepo(db).update(sid, { name: "John W. Smith" });
 */
export function accountsRepo(db: Db): AccountsRepo {
  const get = (sid: string) =>
    rowBySid(sid, "account", (s) => db.select(accountColumns).from(accounts).where(eq(accounts.accountSid, s)), accountToApi);

  async function write(
    sid: string,
    body: { name?: unknown; call_flow_sid?: unknown; password?: unknown },
    attributes: AttributesChange,
  ): Promise<DbResult<AccountObject>> {
    if (!isUuid(sid)) return notFound("account");
    const errors: FieldError[] = [];
    if (body.name !== undefined) {
      const e = checkString("name", body.name);
      if (e) errors.push(e);
    }
    if (body.password !== undefined) {
      const e = checkPassword(body.password);
      if (e) errors.push(e);
    }
    const cf = await checkCallFlowRef(db, body.call_flow_sid);
    if (cf) errors.push(cf);
    if (errors.length) return invalid(errors);
    const set: Partial<typeof accounts.$inferInsert> = {};
    if (body.name !== undefined) set.name = body.name as string;
    if (body.call_flow_sid !== undefined) set.callFlowSid = body.call_flow_sid as string | null;
    if (attributes !== undefined) set.attributes = attributes as AttributeOverrides;
    if (body.password !== undefined) set.passwordHash = await hashPassword(body.password as string);
    if (Object.keys(set).length === 0) return get(sid);
    const [row] = await db.update(accounts).set(set).where(eq(accounts.accountSid, sid)).returning(accountColumns);
    return row ? ok(accountToApi(row)) : notFound("account");
  }

  const pages = listPager(db, {
    table: accounts,
    account: accounts.accountSid,
    columns: accountColumns,
    tiebreak: [asc(accounts.dateCreated), asc(accounts.accountSid)],
    toApi: accountToApi,
  });
  const updater = attributeUpdater({
    column: accounts.attributes,
    putFields: (body: AccountReplace) => ({
      name: body.name ?? ACCOUNT_DEFAULTS.name,
      call_flow_sid: body.call_flow_sid === undefined ? ACCOUNT_DEFAULTS.call_flow_sid : body.call_flow_sid,
      password: body.password,
    }),
    write,
  });

  return {
    fields: accountFields,
    get,
    list: pages.ofAccount,
    update: updater.update,
    replace: updater.replace,
    async verifyLogin(login, password) {
      if (typeof login !== "string" || typeof password !== "string") return null;
      const [row] = await db
        .select({ ...accountColumns, passwordHash: accounts.passwordHash })
        .from(accounts)
        .where(eq(accounts.login, login));
      if (!row) {
        dummyHash ??= hashPassword(crypto.randomUUID());
        await Bun.password.verify(password, await dummyHash).catch(() => false);
        return null;
      }
      const good = await Bun.password.verify(password, row.passwordHash).catch(() => false);
      return good ? accountToApi(row) : null;
    },
  };
}
