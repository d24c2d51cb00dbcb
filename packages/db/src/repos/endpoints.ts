import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { asc, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/accounts.ts";
import { ENDPOINT_TYPES, type EndpointType, endpoints } from "../schema/endpoints.ts";
import { hashPassword } from "./accounts.ts";
import {
  checkString,
  type DbResult,
  deleteBySid,
  type FieldError,
  type FieldMap,
  invalid,
  isUniqueViolation,
  isUuid,
  ok,
  type OperatorCollectionRepo,
  rowBySid,
} from "./common.ts";
import { listPager } from "./list-page.ts";

/**
 * An endpoint in the reference's shape (the Authentication sample of the spec).
 * `properties.password` is the plain password in the response to `create` only; it is
 * stored as an argon2id hash, so every later read returns `null` there.
 */
export interface EndpointObject {
  addresses: [];
  attributes: Record<string, unknown>;
  capacity: 0;
  endpoint_sid: string;
  name: string;
  out_sip_password: null;
  out_sip_username: null;
  partner_sid: string;
  properties: {
    account_sid: string;
    api_url: string;
    container_sid: "null";
    login: string;
    password: string | null;
  };
  transformations: [];
  type: EndpointType;
  voip_token: null;
}

/** The endpoint object's fields in the order the reference lists them (alphabetical). */
export const ENDPOINT_FIELDS = [
  "addresses",
  "attributes",
  "capacity",
  "endpoint_sid",
  "name",
  "out_sip_password",
  "out_sip_username",
  "partner_sid",
  "properties",
  "transformations",
  "type",
  "voip_token",
] as const satisfies readonly (keyof EndpointObject)[];

/** Filterable and sortable fields of endpoints (operator routes). */
export const endpointFields = {
  endpoint_sid: endpoints.endpointSid,
  name: endpoints.name,
  type: endpoints.type,
  partner_sid: endpoints.partnerSid,
  attributes: endpoints.attributes,
  "properties.account_sid": accounts.accountSid,
  "properties.login": accounts.login,
} as const satisfies FieldMap;

/** The partner SID of endpoints created without one: this installation is one partner. */
export const DEFAULT_PARTNER_SID = "00000000-0000-4000-8000-000000000001";

export interface CreateEndpointInput {
  name: string;
  /** Only `conference` (the default). */
  type?: string;
  /** Default DEFAULT_PARTNER_SID. */
  partner_sid?: string;
}

export interface EndpointsOptions {
  /** `properties.api_url` of every endpoint (the Conference API's base URL as clients reach it). */
  readonly apiUrl?: string;
}

export interface EndpointsRepo extends OperatorCollectionRepo<typeof endpointFields, EndpointObject> {
  /** Creates the endpoint and its account (generated login, random password, the default call flow). */
  create(input: CreateEndpointInput): Promise<DbResult<EndpointObject>>;
  /** Deletes the endpoint, its account and everything the account owns. */
  delete(endpointSid: string): Promise<DbResult<void>>;
}

// Lower case and digits first, so the first 36 make a case-insensitive alphabet.
const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** `length` characters drawn uniformly from the first `alphabetSize` of ALNUM. */
export function randomString(length: number, alphabetSize = ALNUM.length): string {
  const out: string[] = [];
  const limit = 256 - (256 % alphabetSize); // rejection sampling keeps it uniform
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < limit && out.length < length) out.push(ALNUM[b % alphabetSize]!);
    }
  }
  return out.join("");
}

/** A login derived from the endpoint name plus a random suffix, e.g. `my_conf_x7k2q9`. */
export function generateLogin(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 32);
  return `${slug || "conference"}_${randomString(6, 36)}`;
}

/**
 * Operator access to conference endpoints.
 * @example
 * const r = await endpointsRepo(db, { apiUrl: "http://127.0.0.1:3000/conference/v2" }).create({ name: "my_conf" });
 * if (r.ok) console.log(r.value.properties.login, r.value.properties.password);
 */
export function endpointsRepo(db: Db, options: EndpointsOptions = {}): EndpointsRepo {
  const apiUrl = options.apiUrl ?? "http://127.0.0.1:3000/conference/v2";
  const columns = {
    endpointSid: endpoints.endpointSid,
    name: endpoints.name,
    type: endpoints.type,
    partnerSid: endpoints.partnerSid,
    attributes: endpoints.attributes,
    created: endpoints.created,
    accountSid: accounts.accountSid,
    login: accounts.login,
  };
  type Row = {
    endpointSid: string;
    name: string;
    type: EndpointType;
    partnerSid: string;
    attributes: Record<string, unknown>;
    accountSid: string;
    login: string;
  };
  const toApi = (row: Row, password: string | null): EndpointObject => ({
    addresses: [],
    attributes: row.attributes,
    capacity: 0,
    endpoint_sid: row.endpointSid,
    name: row.name,
    out_sip_password: null,
    out_sip_username: null,
    partner_sid: row.partnerSid,
    properties: { account_sid: row.accountSid, api_url: apiUrl, container_sid: "null", login: row.login, password },
    transformations: [],
    type: row.type,
    voip_token: null,
  });

  const pages = listPager(db, {
    table: endpoints,
    join: { table: accounts, on: eq(accounts.endpointSid, endpoints.endpointSid) },
    account: accounts.accountSid,
    columns,
    tiebreak: [asc(endpoints.created), asc(endpoints.endpointSid)],
    toApi: (row) => toApi(row, null),
  });

  return {
    fields: endpointFields,
    async create(input) {
      const errors: FieldError[] = [];
      const nameErr = checkString("name", input.name);
      if (nameErr) errors.push(nameErr);
      else if (input.name.trim() === "") errors.push({ field: "name", message: "must not be empty" });
      const type = input.type ?? "conference";
      if (!(ENDPOINT_TYPES as readonly string[]).includes(type)) {
        errors.push({ field: "type", message: `must be one of ${ENDPOINT_TYPES.join(", ")}` });
      }
      if (input.partner_sid !== undefined && !isUuid(input.partner_sid)) {
        errors.push({ field: "partner_sid", message: "must be a UUID" });
      }
      if (errors.length) return invalid(errors);
      const password = randomString(20);
      const passwordHash = await hashPassword(password);
      // A generated login can collide (36^6 suffixes per name): draw again.
      for (let attempt = 0; ; attempt++) {
        const login = generateLogin(input.name);
        try {
          const row = await db.transaction(async (tx) => {
            const [e] = await tx
              .insert(endpoints)
              .values({ name: input.name, type: type as EndpointType, partnerSid: input.partner_sid ?? DEFAULT_PARTNER_SID })
              .returning();
            const [a] = await tx
              .insert(accounts)
              .values({ endpointSid: e!.endpointSid, login, passwordHash, name: input.name, callFlowSid: DEFAULT_CALL_FLOW_SID })
              .returning({ accountSid: accounts.accountSid, login: accounts.login });
            return { ...e!, ...a! };
          });
          return ok(toApi(row, password));
        } catch (e) {
          if (attempt < 5 && isUniqueViolation(e, "accounts_login_unique")) continue;
          throw e;
        }
      }
    },
    get: (sid) =>
      rowBySid(
        sid,
        "endpoint",
        (s) =>
          db
            .select(columns)
            .from(endpoints)
            .innerJoin(accounts, eq(accounts.endpointSid, endpoints.endpointSid))
            .where(eq(endpoints.endpointSid, s)),
        (row) => toApi(row, null),
      ),
    list: pages.all,
    delete: (sid) => deleteBySid(db, endpoints, endpoints.endpointSid, sid, "endpoint"),
  };
}
