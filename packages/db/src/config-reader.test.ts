import { expect, test } from "bun:test";
import { BUILT_IN_CALL_FLOWS, resolve } from "@conf/call-flow";
import { createConfigReader } from "./config-reader.ts";
import { describeEachDatabase } from "./test-suite.ts";
import { must, newAccount } from "./testing.ts";

const open = BUILT_IN_CALL_FLOWS[1]!.callFlowSid;
const directHost = BUILT_IN_CALL_FLOWS[2]!.callFlowSid;

describeEachDatabase("config reader", (suite) => {
  test("findNumber: a DID with its account and DID group levels", async () => {
    const { endpointSid, accountSid } = await newAccount(suite.repos);
    must(await suite.repos.accounts.update(accountSid, { attributes: { conference_language: "DE" } }));
    const g = must(
      await suite.repos.didGroups.create(accountSid, { call_flow_sid: open, attributes: { conference_moh: "beep" } }),
    );
    const d = must(await suite.repos.dids.assign({ phonenumber: "15162065919", endpoint_sid: endpointSid }));
    must(
      await suite.repos.dids.update(accountSid, d.did_sid, {
        did_group_sid: g.did_group_sid,
        attributes: { conference_entrytones: "off" },
      }),
    );
    const config = createConfigReader(suite.database);
    const m = await config.findNumber("15162065919");
    expect(m).toEqual({
      kind: "did",
      account: { sid: accountSid, attributes: { conference_language: "DE" }, callFlowSid: BUILT_IN_CALL_FLOWS[0]!.callFlowSid },
      did: { sid: d.did_sid, attributes: { conference_entrytones: "off" }, callFlowSid: null, phonenumber: "15162065919" },
      didGroup: { sid: g.did_group_sid, attributes: { conference_moh: "beep" }, callFlowSid: open },
    });
    // The levels go straight into the resolver.
    if (m?.kind !== "did") throw new Error("expected a DID match");
    const r = resolve({ account: m.account, did: m.did, didGroup: m.didGroup });
    expect(r.ok && r.value.callFlow.name).toBe("open");
    expect(r.ok && r.value.attributes.conference_language).toBe("DE");
  });

  test("findNumber: a DID without a group has didGroup null", async () => {
    const { endpointSid } = await newAccount(suite.repos);
    must(await suite.repos.dids.assign({ phonenumber: "442079460958", endpoint_sid: endpointSid }));
    const m = await createConfigReader(suite.database).findNumber("442079460958");
    expect(m?.kind === "did" && m.didGroup).toBeNull();
  });

  test("findNumber: longest matching trunk prefix, exact DID first, else null", async () => {
    const a = await newAccount(suite.repos);
    const b = await newAccount(suite.repos);
    must(await suite.repos.trunkPrefixes.add({ prefix: "8888", endpoint_sid: a.endpointSid }));
    must(await suite.repos.trunkPrefixes.add({ prefix: "888812", endpoint_sid: b.endpointSid }));
    must(await suite.repos.accounts.update(b.accountSid, { call_flow_sid: directHost }));
    const config = createConfigReader(suite.database);
    const short = await config.findNumber("88880000");
    expect(short).toMatchObject({ kind: "prefix", prefix: "8888", account: { sid: a.accountSid } });
    const long = await config.findNumber("8888123456");
    expect(long).toEqual({
      kind: "prefix",
      prefix: "888812",
      account: { sid: b.accountSid, attributes: {}, callFlowSid: directHost },
    });
    // Longer than E.164 (prefix plus a full number) still matches the prefix.
    expect(await config.findNumber("88881215162065919")).toMatchObject({ kind: "prefix", prefix: "888812" });
    must(await suite.repos.dids.assign({ phonenumber: "88881299", endpoint_sid: a.endpointSid }));
    expect(await config.findNumber("88881299")).toMatchObject({ kind: "did", account: { sid: a.accountSid } });
    expect(await config.findNumber("9999")).toBeNull();
    expect(await config.findNumber("888")).toBeNull();
    expect(await config.findNumber("")).toBeNull();
    expect(await config.findNumber("12a")).toBeNull();
  });

  test("findAccessCode: room level and role, scoped by account", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const other = await newAccount(suite.repos);
    const g = must(await suite.repos.didGroups.create(accountSid, {}));
    const room = must(
      await suite.repos.meetingRooms.create(accountSid, {
        name: "Board",
        did_group_sid: g.did_group_sid,
        attributes: { conference_start_how: "moderator" },
        access_codes: [
          { access_code: "890671", role: "host" },
          { access_code: "265423", role: "listener" },
        ],
      }),
    );
    const config = createConfigReader(suite.database);
    expect(await config.findAccessCode(accountSid, "265423")).toEqual({
      meetingRoom: {
        sid: room.meeting_room_sid,
        attributes: { conference_start_how: "moderator" },
        callFlowSid: null,
        name: "Board",
        didGroupSid: g.did_group_sid,
        accountSid,
      },
      role: "listener",
    });
    expect((await config.findAccessCode(accountSid, "890671"))?.role).toBe("host");
    expect(await config.findAccessCode(accountSid, "000")).toBeNull();
    expect(await config.findAccessCode(other.accountSid, "890671")).toBeNull();
    expect(await config.findAccessCode("not-a-uuid", "890671")).toBeNull();
    const byRoom = await config.getMeetingRoom(room.meeting_room_sid);
    expect(byRoom?.name).toBe("Board");
    expect(await config.getMeetingRoom(crypto.randomUUID())).toBeNull();
    expect(await config.getAccount(accountSid)).toMatchObject({ sid: accountSid, attributes: {} });
    expect(await config.getAccount(crypto.randomUUID())).toBeNull();
  });
});
