import { expect, test } from "bun:test";
import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { eq, sql } from "drizzle-orm";
import { accounts, didGroups, dids, meetingRooms, trunkPrefixes } from "../schema/index.ts";
import { describeEachDatabase } from "../test-suite.ts";
import { ENDPOINT_FIELDS } from "./endpoints.ts";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const API_URL = "http://api.test/conference/v2";

describeEachDatabase("endpoints and accounts", { apiUrl: API_URL }, (suite) => {
  async function newEndpoint(name = "my_conf") {
    const r = await suite.repos.endpoints.create({ name, type: "conference" });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }

  test("create returns the reference's endpoint shape with the plain password once", async () => {
    const e = await newEndpoint("My Conf!");
    expect(Object.keys(e).sort()).toEqual([...ENDPOINT_FIELDS]);
    expect(e).toMatchObject({
      addresses: [],
      attributes: {},
      capacity: 0,
      name: "My Conf!",
      type: "conference",
      voip_token: null,
    });
    expect(Object.keys(e.properties).sort()).toEqual(["account_sid", "api_url", "container_sid", "login", "password"]);
    expect(e.properties.api_url).toBe(API_URL);
    expect(e.properties.container_sid).toBe("null");
    expect(e.properties.login).toMatch(/^my_conf_[a-z0-9]{6}$/);
    expect(e.properties.password).toMatch(/^[A-Za-z0-9]{20}$/);
    const got = await suite.repos.endpoints.get(e.endpoint_sid);
    expect(got.ok && got.value.properties).toEqual({ ...e.properties, password: null });
  });

  test("the password is stored only as an argon2id hash", async () => {
    const e = await newEndpoint();
    const [row] = await suite.database.db.select().from(accounts).where(eq(accounts.accountSid, e.properties.account_sid));
    expect(row?.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(row?.passwordHash).not.toContain(e.properties.password!);
  });

  test("create validates name and type", async () => {
    const r = await suite.repos.endpoints.create({ name: "x", type: "flexml" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: "invalid", field: "type" });
    const r2 = await suite.repos.endpoints.create({ name: "  " });
    if (!r2.ok) expect(r2.error).toMatchObject({ kind: "invalid", field: "name" });
    else throw new Error("accepted an empty name");
  });

  test("get/list/delete endpoints; unknown and malformed SIDs are not_found", async () => {
    const before = await suite.repos.endpoints.list({ limit: 1000, offset: 0 });
    const e = await newEndpoint("listed");
    const after = await suite.repos.endpoints.list({ limit: 1000, offset: 0 });
    expect(after.total).toBe(before.total + 1);
    const filtered = await suite.repos.endpoints.list({
      where: sql`${suite.repos.endpoints.fields.name} = ${"listed"}`,
      limit: 10,
      offset: 0,
    });
    expect(filtered.items.map((i) => i.endpoint_sid)).toEqual([e.endpoint_sid]);
    const byAccount = await suite.repos.endpoints.list({ accountSid: e.properties.account_sid, limit: 10, offset: 0 });
    expect(byAccount.total).toBe(1);
    expect((await suite.repos.endpoints.get("nope")).ok).toBe(false);
    expect((await suite.repos.endpoints.get(crypto.randomUUID())).ok).toBe(false);
    expect((await suite.repos.endpoints.delete(e.endpoint_sid)).ok).toBe(true);
    const again = await suite.repos.endpoints.delete(e.endpoint_sid);
    expect(!again.ok && again.error.kind).toBe("not_found");
  });

  test("deleting an endpoint deletes its account and everything the account owns", async () => {
    const e = await newEndpoint("doomed");
    const accountSid = e.properties.account_sid;
    const g = await suite.repos.didGroups.create(accountSid, {});
    if (!g.ok) throw new Error(g.error.message);
    await suite.repos.dids.assign({ phonenumber: "15550001111", endpoint_sid: e.endpoint_sid });
    await suite.repos.trunkPrefixes.add({ prefix: "98765", endpoint_sid: e.endpoint_sid });
    await suite.repos.meetingRooms.create(accountSid, { access_codes: [{ access_code: "111", role: "host" }] });
    expect((await suite.repos.endpoints.delete(e.endpoint_sid)).ok).toBe(true);
    const { db } = suite.database;
    for (const table of [accounts, didGroups, dids, meetingRooms, trunkPrefixes]) {
      const rows = await db.select().from(table).where(eq(table.accountSid, accountSid));
      expect(rows.length).toBe(0);
    }
    const codes = await db.execute(sql`select count(*)::int as n from access_codes where account_sid = ${accountSid}`);
    const list = Array.isArray(codes) ? codes : (codes as unknown as { rows: { n: number }[] }).rows;
    expect((list[0] as { n: number }).n).toBe(0);
  });

  test("accounts: get, list sees only itself, exact shape", async () => {
    const e = await newEndpoint("John Smith");
    await newEndpoint("someone else");
    const sid = e.properties.account_sid;
    const a = await suite.repos.accounts.get(sid);
    if (!a.ok) throw new Error(a.error.message);
    expect(Object.keys(a.value)).toEqual(["account_sid", "attributes", "call_flow_sid", "date_created", "login", "name"]);
    expect(a.value).toMatchObject({
      account_sid: sid,
      attributes: {},
      call_flow_sid: DEFAULT_CALL_FLOW_SID,
      login: e.properties.login,
      name: "John Smith",
    });
    expect(a.value.date_created).toMatch(ISO_MS);
    const l = await suite.repos.accounts.list({ accountSid: sid, limit: 10, offset: 0 });
    expect(l).toEqual({ items: [a.value], total: 1 });
    const none = await suite.repos.accounts.list({
      accountSid: sid,
      where: sql`${suite.repos.accounts.fields.name} = 'x'`,
      limit: 10,
      offset: 0,
    });
    expect(none).toEqual({ items: [], total: 0 });
  });

  test("accounts: PATCH merges attributes, null removes, replace mode replaces", async () => {
    const sid = (await newEndpoint()).properties.account_sid;
    let r = await suite.repos.accounts.update(sid, {
      name: "John W. Smith",
      attributes: { conference_language: "DE", conference_entrytones: "off" },
    });
    expect(r.ok && r.value).toMatchObject({
      name: "John W. Smith",
      attributes: { conference_entrytones: "off", conference_language: "DE" },
    });
    r = await suite.repos.accounts.update(sid, { attributes: { conference_language: null, conference_exittones: "off" } });
    expect(r.ok && r.value.attributes).toEqual({ conference_entrytones: "off", conference_exittones: "off" });
    r = await suite.repos.accounts.update(sid, { attributes: { conference_moh: "custom" } }, { nestedObjects: "replace" });
    expect(r.ok && r.value.attributes).toEqual({ conference_moh: "custom" });
    r = await suite.repos.accounts.update(sid, { call_flow_sid: null });
    expect(r.ok && r.value.call_flow_sid).toBeNull();
  });

  test("accounts: invalid fields name the field", async () => {
    const sid = (await newEndpoint()).properties.account_sid;
    const bad = await suite.repos.accounts.update(sid, { attributes: { conference_language: "English", bogus: "x" } });
    expect(!bad.ok && bad.error.kind).toBe("invalid");
    expect(!bad.ok && bad.error.errors?.map((e) => e.field).sort()).toEqual([
      "attributes.bogus",
      "attributes.conference_language",
    ]);
    const flow = await suite.repos.accounts.update(sid, { call_flow_sid: crypto.randomUUID() });
    expect(!flow.ok && flow.error).toMatchObject({ kind: "invalid", field: "call_flow_sid" });
    const pw = await suite.repos.accounts.update(sid, { password: "short" });
    expect(!pw.ok && pw.error).toMatchObject({ kind: "invalid", field: "password" });
    expect((await suite.repos.accounts.update(crypto.randomUUID(), { name: "x" })).ok).toBe(false);
  });

  test("accounts: PUT puts left-out fields back to defaults", async () => {
    const sid = (await newEndpoint()).properties.account_sid;
    await suite.repos.accounts.update(sid, { name: "n", call_flow_sid: null, attributes: { conference_moh: "custom" } });
    const r = await suite.repos.accounts.replace(sid, {});
    expect(r.ok && r.value).toMatchObject({ name: "N/A", call_flow_sid: DEFAULT_CALL_FLOW_SID, attributes: {} });
  });

  test("verifyLogin: right password, wrong password, unknown login, changed password", async () => {
    const e = await newEndpoint();
    const { login, password } = e.properties;
    const okAcc = await suite.repos.accounts.verifyLogin(login, password!);
    expect(okAcc?.account_sid).toBe(e.properties.account_sid);
    expect(await suite.repos.accounts.verifyLogin(login, `${password}x`)).toBeNull();
    expect(await suite.repos.accounts.verifyLogin("nobody_here", password!)).toBeNull();
    const changed = await suite.repos.accounts.update(e.properties.account_sid, { password: "qwerty123" });
    expect(changed.ok).toBe(true);
    expect(await suite.repos.accounts.verifyLogin(login, password!)).toBeNull();
    expect((await suite.repos.accounts.verifyLogin(login, "qwerty123"))?.login).toBe(login);
  });

  test("logins are unique in the database", async () => {
    const e = await newEndpoint();
    const other = await newEndpoint();
    const clash = (async () =>
      await suite.database.db
        .update(accounts)
        .set({ login: e.properties.login })
        .where(eq(accounts.accountSid, other.properties.account_sid)))();
    await expect(clash).rejects.toThrow();
  });
});
