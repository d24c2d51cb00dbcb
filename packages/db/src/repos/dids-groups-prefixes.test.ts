import { expect, test } from "bun:test";
import { BUILT_IN_CALL_FLOWS, DEFAULT_ATTRIBUTES } from "@conf/call-flow";
import { desc, sql } from "drizzle-orm";
import { describeEachDatabase } from "../test-suite.ts";
import { must, newAccount } from "../testing.ts";
import { fieldExpression } from "./common.ts";

const secured = BUILT_IN_CALL_FLOWS[0]!.callFlowSid;
const open = BUILT_IN_CALL_FLOWS[1]!.callFlowSid;

describeEachDatabase("call flows, DID groups, DIDs, trunk prefixes", (suite) => {
  test("call flows: list and get in the reference's shape", async () => {
    const l = await suite.repos.callFlows.list({ limit: 10, offset: 0 });
    expect(l.total).toBe(4);
    const s = must(await suite.repos.callFlows.get(secured));
    expect(Object.keys(s)).toEqual(["attributes", "call_flow_sid", "name"]);
    expect(s.name).toBe("secured");
    expect(Object.keys(s.attributes)).toEqual(Object.keys(DEFAULT_ATTRIBUTES).sort());
    const byName = await suite.repos.callFlows.list({
      where: sql`${suite.repos.callFlows.fields.name} = 'open'`,
      limit: 10,
      offset: 0,
    });
    expect(byName.items.map((f) => f.call_flow_sid)).toEqual([open]);
    const byAttr = await suite.repos.callFlows.list({
      where: sql`${fieldExpression(suite.repos.callFlows.fields, "attributes.conference_language")} = 'EN'`,
      limit: 2,
      offset: 1,
    });
    expect(byAttr).toMatchObject({ total: 4 });
    expect(byAttr.items.length).toBe(2);
    expect((await suite.repos.callFlows.get(crypto.randomUUID())).ok).toBe(false);
  });

  test("DID groups: create with defaults, exact shape", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const g = must(await suite.repos.didGroups.create(accountSid, {}));
    expect(Object.keys(g)).toEqual(["account_sid", "attributes", "call_flow_sid", "did_group_sid", "name"]);
    expect(g).toMatchObject({ account_sid: accountSid, attributes: {}, call_flow_sid: null, name: "N/A" });
    expect(must(await suite.repos.didGroups.get(accountSid, g.did_group_sid))).toEqual(g);
  });

  test("DID groups: update, replace, list with filter/order/paging, delete", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const a = must(
      await suite.repos.didGroups.create(accountSid, {
        name: "b",
        call_flow_sid: open,
        attributes: { conference_moh: "custom" },
      }),
    );
    const b = must(await suite.repos.didGroups.create(accountSid, { name: "a" }));
    const up = must(
      await suite.repos.didGroups.update(accountSid, a.did_group_sid, {
        name: "New DID group",
        attributes: { conference_entrytones: "off" },
      }),
    );
    expect(up).toMatchObject({
      name: "New DID group",
      call_flow_sid: open,
      attributes: { conference_entrytones: "off", conference_moh: "custom" },
    });
    const put = must(await suite.repos.didGroups.replace(accountSid, a.did_group_sid, { name: "z" }));
    expect(put).toMatchObject({ name: "z", call_flow_sid: null, attributes: {} });
    const f = suite.repos.didGroups.fields;
    const sorted = await suite.repos.didGroups.list({ accountSid, orderBy: [desc(f.name)], limit: 10, offset: 0 });
    expect(sorted.items.map((g) => g.name)).toEqual(["z", "a"]);
    const paged = await suite.repos.didGroups.list({ accountSid, orderBy: [sql`${f.name} asc`], limit: 1, offset: 1 });
    expect(paged).toEqual({ items: [must(await suite.repos.didGroups.get(accountSid, a.did_group_sid))], total: 2 });
    const past = await suite.repos.didGroups.list({ accountSid, limit: 10, offset: 10 });
    expect(past).toEqual({ items: [], total: 2 });
    const zero = await suite.repos.didGroups.list({ accountSid, limit: 0, offset: 0 });
    expect(zero).toEqual({ items: [], total: 2 });
    expect((await suite.repos.didGroups.delete(accountSid, b.did_group_sid)).ok).toBe(true);
    expect((await suite.repos.didGroups.get(accountSid, b.did_group_sid)).ok).toBe(false);
  });

  test("DID groups: another account's group is not_found everywhere", async () => {
    const mine = await newAccount(suite.repos);
    const theirs = await newAccount(suite.repos);
    const g = must(await suite.repos.didGroups.create(theirs.accountSid, {}));
    for (const r of [
      await suite.repos.didGroups.get(mine.accountSid, g.did_group_sid),
      await suite.repos.didGroups.update(mine.accountSid, g.did_group_sid, { name: "x" }),
      await suite.repos.didGroups.replace(mine.accountSid, g.did_group_sid, {}),
      await suite.repos.didGroups.delete(mine.accountSid, g.did_group_sid),
    ]) {
      expect(!r.ok && r.error.kind).toBe("not_found");
    }
    expect((await suite.repos.didGroups.list({ accountSid: mine.accountSid, limit: 10, offset: 0 })).total).toBe(0);
    expect(must(await suite.repos.didGroups.get(theirs.accountSid, g.did_group_sid)).name).toBe("N/A");
  });

  test("DID groups: bad call flow and attributes are invalid, naming the field", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const r = await suite.repos.didGroups.create(accountSid, {
      call_flow_sid: crypto.randomUUID(),
      attributes: { conference_start_how: "never" },
    });
    expect(!r.ok && r.error.kind).toBe("invalid");
    expect(!r.ok && r.error.errors?.map((e) => e.field)).toEqual(["call_flow_sid", "attributes.conference_start_how"]);
    const g = must(await suite.repos.didGroups.create(accountSid, {}));
    const bad = await suite.repos.didGroups.update(accountSid, g.did_group_sid, { call_flow_sid: "not-a-uuid" });
    expect(!bad.ok && bad.error.field).toBe("call_flow_sid");
  });

  test("DIDs: assign derives country and formats; exact shape", async () => {
    const { endpointSid, accountSid } = await newAccount(suite.repos);
    const d = must(await suite.repos.dids.assign({ phonenumber: "+1 (516) 206-5919", endpoint_sid: endpointSid }));
    expect(Object.keys(d)).toEqual([
      "account_sid",
      "attributes",
      "call_flow_sid",
      "country_code",
      "did_group_sid",
      "did_sid",
      "in_country_format",
      "international_format",
      "phonenumber",
    ]);
    expect(d).toMatchObject({
      account_sid: accountSid,
      attributes: {},
      call_flow_sid: null,
      country_code: "USA",
      did_group_sid: null,
      in_country_format: "(516) 206-5919",
      international_format: "+1 516-206-5919",
      phonenumber: "15162065919",
    });
    const uk = must(await suite.repos.dids.assign({ phonenumber: "442079460958", account_sid: accountSid }));
    expect(uk).toMatchObject({ country_code: "GBR", international_format: "+44 20 7946 0958" });
    const l = await suite.repos.dids.list({
      accountSid,
      where: sql`${suite.repos.dids.fields.country_code} = 'GBR'`,
      limit: 10,
      offset: 0,
    });
    expect(l).toEqual({ items: [uk], total: 1 });
    const again = await suite.repos.dids.assign({ phonenumber: "15162065919", endpoint_sid: endpointSid });
    expect(!again.ok && again.error).toMatchObject({ kind: "conflict", field: "phonenumber" });
    const bad = await suite.repos.dids.assign({ phonenumber: "abc", endpoint_sid: crypto.randomUUID() });
    expect(!bad.ok && bad.error.errors?.map((e) => e.field)).toEqual(["phonenumber", "endpoint_sid"]);
    expect((await suite.repos.dids.unassign(d.did_sid)).ok).toBe(true);
    expect((await suite.repos.dids.get(accountSid, d.did_sid)).ok).toBe(false);
    expect((await suite.repos.dids.unassign(d.did_sid)).ok).toBe(false);
  });

  test("DIDs: update/replace check references belong to the account", async () => {
    const mine = await newAccount(suite.repos);
    const theirs = await newAccount(suite.repos);
    const d = must(await suite.repos.dids.assign({ phonenumber: "4930123456", endpoint_sid: mine.endpointSid }));
    expect(d.country_code).toBe("DEU");
    const myGroup = must(await suite.repos.didGroups.create(mine.accountSid, {}));
    const theirGroup = must(await suite.repos.didGroups.create(theirs.accountSid, {}));
    const up = must(
      await suite.repos.dids.update(mine.accountSid, d.did_sid, { did_group_sid: myGroup.did_group_sid, call_flow_sid: open }),
    );
    expect(up).toMatchObject({ did_group_sid: myGroup.did_group_sid, call_flow_sid: open });
    const cross = await suite.repos.dids.update(mine.accountSid, d.did_sid, { did_group_sid: theirGroup.did_group_sid });
    expect(!cross.ok && cross.error).toMatchObject({ kind: "invalid", field: "did_group_sid" });
    const flow = await suite.repos.dids.update(mine.accountSid, d.did_sid, { call_flow_sid: crypto.randomUUID() });
    expect(!flow.ok && flow.error).toMatchObject({ kind: "invalid", field: "call_flow_sid" });
    expect((await suite.repos.dids.get(theirs.accountSid, d.did_sid)).ok).toBe(false);
    expect((await suite.repos.dids.update(theirs.accountSid, d.did_sid, { call_flow_sid: null })).ok).toBe(false);
    const merged = must(await suite.repos.dids.update(mine.accountSid, d.did_sid, { attributes: { conference_language: "DE" } }));
    expect(merged.attributes).toEqual({ conference_language: "DE" });
    const put = must(await suite.repos.dids.replace(mine.accountSid, d.did_sid, {}));
    expect(put).toMatchObject({ did_group_sid: null, call_flow_sid: null, attributes: {} });
    // The database itself refuses a cross-account group reference.
    await expect(
      (async () =>
        await suite.database.db.execute(
          sql`update dids set did_group_sid = ${theirGroup.did_group_sid} where did_sid = ${d.did_sid}`,
        ))(),
    ).rejects.toThrow();
    // Deleting a group leaves its DIDs with did_group_sid null.
    must(await suite.repos.dids.update(mine.accountSid, d.did_sid, { did_group_sid: myGroup.did_group_sid }));
    must(await suite.repos.didGroups.delete(mine.accountSid, myGroup.did_group_sid));
    expect(must(await suite.repos.dids.get(mine.accountSid, d.did_sid)).did_group_sid).toBeNull();
  });

  test("trunk prefixes: add, conflict, list, get, remove", async () => {
    const { endpointSid, accountSid } = await newAccount(suite.repos);
    const p = must(await suite.repos.trunkPrefixes.add({ prefix: "7777", endpoint_sid: endpointSid }));
    expect(p).toMatchObject({ prefix: "7777", account_sid: accountSid, endpoint_sid: endpointSid });
    expect(Object.keys(p)).toEqual(["account_sid", "date_created", "endpoint_sid", "prefix", "prefix_sid"]);
    const dup = await suite.repos.trunkPrefixes.add({ prefix: "7777", account_sid: accountSid });
    expect(!dup.ok && dup.error).toMatchObject({ kind: "conflict", field: "prefix" });
    const bad = await suite.repos.trunkPrefixes.add({ prefix: "77a", endpoint_sid: endpointSid });
    expect(!bad.ok && bad.error.field).toBe("prefix");
    expect(must(await suite.repos.trunkPrefixes.get(p.prefix_sid))).toEqual(p);
    expect((await suite.repos.trunkPrefixes.list({ accountSid, limit: 10, offset: 0 })).items).toEqual([p]);
    expect((await suite.repos.trunkPrefixes.remove(p.prefix_sid)).ok).toBe(true);
    expect((await suite.repos.trunkPrefixes.remove(p.prefix_sid)).ok).toBe(false);
  });
});
