import { beforeAll, expect, test } from "bun:test";
import { describeEachDatabase } from "../test-suite.ts";
import { must, newAccount, TEST_DATABASE_HOOK_TIMEOUT_MS } from "../testing.ts";
import type { ListOptions } from "./common.ts";
import type { Repositories } from "./index.ts";

// The scope and error-order rules every repository gets from the shared list/page and
// attribute-update helpers, pinned per repository so that none drifts from the others.
describeEachDatabase("list scope and attribute-update order", (suite) => {
  let owner: { endpointSid: string; accountSid: string };
  beforeAll(async () => {
    owner = await newAccount(suite.repos);
    const group = must(await suite.repos.didGroups.create(owner.accountSid, { name: "g" }));
    must(await suite.repos.meetingRooms.create(owner.accountSid, { did_group_sid: group.did_group_sid }));
    must(await suite.repos.dids.assign({ phonenumber: "15162065900", endpoint_sid: owner.endpointSid }));
    must(await suite.repos.trunkPrefixes.add({ prefix: "4242", endpoint_sid: owner.endpointSid }));
  }, TEST_DATABASE_HOOK_TIMEOUT_MS);

  const page = { limit: 10, offset: 0 };
  const accountLists = (r: Repositories) => ({
    accounts: (o: ListOptions) => r.accounts.list(o),
    didGroups: (o: ListOptions) => r.didGroups.list(o),
    dids: (o: ListOptions) => r.dids.list(o),
    meetingRooms: (o: ListOptions) => r.meetingRooms.list(o),
  });

  test("an account's list: its own rows; a malformed or missing account lists nothing", async () => {
    for (const [name, list] of Object.entries(accountLists(suite.repos))) {
      expect([name, (await list({ accountSid: owner.accountSid, ...page })).total]).toEqual([name, 1]);
      for (const accountSid of ["not-a-uuid", undefined as unknown as string, crypto.randomUUID()]) {
        expect([name, await list({ accountSid, ...page })]).toEqual([name, { items: [], total: 0 }]);
      }
    }
  });

  test("operator lists: every account's rows, or one account's; a malformed account lists nothing", async () => {
    const other = await newAccount(suite.repos, "other");
    must(await suite.repos.dids.assign({ phonenumber: "15162065901", endpoint_sid: other.endpointSid }));
    const lists = {
      endpoints: suite.repos.endpoints.list,
      didsAll: suite.repos.dids.listAll,
      trunkPrefixes: suite.repos.trunkPrefixes.list,
    };
    for (const [name, list] of Object.entries(lists)) {
      const all = await list(page);
      expect([name, all.total >= 1, all.items.length]).toEqual([name, true, all.total]);
      expect([name, (await list({ accountSid: owner.accountSid, ...page })).total]).toEqual([name, 1]);
      expect([name, await list({ accountSid: "not-a-uuid", ...page })]).toEqual([name, { items: [], total: 0 }]);
    }
    // Call flows are global: the account is ignored, malformed or not.
    expect((await suite.repos.callFlows.list({ accountSid: "not-a-uuid", ...page })).total).toBe(4);
  });

  test("a page past the end or of no rows still counts every match", async () => {
    for (const [name, list] of Object.entries(accountLists(suite.repos))) {
      for (const p of [
        { limit: 10, offset: 5 },
        { limit: 0, offset: 0 },
      ]) {
        expect([name, await list({ accountSid: owner.accountSid, ...p })]).toEqual([name, { items: [], total: 1 }]);
      }
    }
  });

  test("bad attributes: answered before the other fields, except a room's, which reports all at once", async () => {
    const badAttributes = { conference_language: "English" };
    const badFlow = crypto.randomUUID();
    const [group] = (await suite.repos.didGroups.list({ accountSid: owner.accountSid, ...page })).items;
    const [did] = (await suite.repos.dids.list({ accountSid: owner.accountSid, ...page })).items;
    const [room] = (await suite.repos.meetingRooms.list({ accountSid: owner.accountSid, ...page })).items;
    const fields = (r: { ok: boolean; error?: { errors?: readonly { field: string }[] } }) =>
      r.error?.errors?.map((e) => e.field);
    const attributeOnly = ["attributes.conference_language"];

    expect(
      fields(await suite.repos.accounts.update(owner.accountSid, { call_flow_sid: badFlow, attributes: badAttributes })),
    ).toEqual(attributeOnly);
    expect(
      fields(await suite.repos.accounts.replace(owner.accountSid, { call_flow_sid: badFlow, attributes: badAttributes })),
    ).toEqual(attributeOnly);
    expect(
      fields(
        await suite.repos.didGroups.update(owner.accountSid, group!.did_group_sid, {
          call_flow_sid: badFlow,
          attributes: badAttributes,
        }),
      ),
    ).toEqual(attributeOnly);
    expect(
      fields(
        await suite.repos.didGroups.replace(owner.accountSid, group!.did_group_sid, {
          call_flow_sid: badFlow,
          attributes: badAttributes,
        }),
      ),
    ).toEqual(attributeOnly);
    expect(
      fields(
        await suite.repos.dids.update(owner.accountSid, did!.did_sid, { call_flow_sid: badFlow, attributes: badAttributes }),
      ),
    ).toEqual(attributeOnly);
    expect(
      fields(
        await suite.repos.dids.replace(owner.accountSid, did!.did_sid, { call_flow_sid: badFlow, attributes: badAttributes }),
      ),
    ).toEqual(attributeOnly);
    // Attributes are checked before the SIDs: a bad body on a missing object is still a 422.
    expect(fields(await suite.repos.dids.update(owner.accountSid, "not-a-uuid", { attributes: badAttributes }))).toEqual(
      attributeOnly,
    );

    const withCodes = ["attributes.conference_language", "access_codes"];
    const badCodes = [{ access_code: "#", role: "host" as const }];
    expect(
      fields(
        await suite.repos.meetingRooms.update(owner.accountSid, room!.meeting_room_sid, {
          attributes: badAttributes,
          access_codes: badCodes,
        }),
      ),
    ).toEqual(withCodes);
    expect(
      fields(
        await suite.repos.meetingRooms.replace(owner.accountSid, room!.meeting_room_sid, {
          attributes: badAttributes,
          access_codes: badCodes,
        }),
      ),
    ).toEqual(withCodes);
    // A room's SIDs are checked first: a bad body on a missing room is a 404.
    const missing = await suite.repos.meetingRooms.update(owner.accountSid, "not-a-uuid", { attributes: badAttributes });
    expect(!missing.ok && missing.error.kind).toBe("not_found");
  });

  test("PATCH without attributes leaves them; PUT without attributes clears them", async () => {
    const [group] = (await suite.repos.didGroups.list({ accountSid: owner.accountSid, ...page })).items;
    const sid = group!.did_group_sid;
    must(await suite.repos.didGroups.update(owner.accountSid, sid, { attributes: { conference_moh: "custom" } }));
    expect(must(await suite.repos.didGroups.update(owner.accountSid, sid, { name: "h" })).attributes).toEqual({
      conference_moh: "custom",
    });
    expect(must(await suite.repos.didGroups.replace(owner.accountSid, sid, { name: "h" })).attributes).toEqual({});
  });
});
