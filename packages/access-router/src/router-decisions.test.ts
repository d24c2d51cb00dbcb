import { describe, expect, test } from "bun:test";
import { ATTRIBUTE_KEYS, type AttributeKey, type AttributeOverrides, DEFAULT_ATTRIBUTES, type LevelName } from "@conf/call-flow";
import fc from "fast-check";
import type { JoinDecision, PromptContext } from "./decision.ts";
import { createMemoryConfig } from "./memory-config.ts";
import type { ConfigPort } from "./port.ts";
import { createAccessRouter } from "./router.ts";
import { SECURED, inbound, prompt, setup, world } from "./testing/world.ts";

describe("route", () => {
  const cases: { name: string; input: string; expected: Record<string, unknown> }[] = [
    { name: "unknown number", input: "15559999999", expected: { kind: "refuse", reason: "unknown_number" } },
    { name: "not a number at all", input: "conference", expected: { kind: "refuse", reason: "unknown_number" } },
    { name: "empty user part", input: "", expected: { kind: "refuse", reason: "unknown_number" } },
    {
      name: "secured from the account",
      input: "15550000001",
      expected: {
        kind: "prompt",
        context: {
          accountSid: "A1",
          dialed: "15550000001",
          caller: "15557770000",
          transport: "udp",
          callFlow: { name: "secured" },
          via: { kind: "did", didSid: "D1", phonenumber: "15550000001", didGroupSid: null },
        },
      },
    },
    {
      name: "formatted dialed number finds the DID",
      input: "tel:+1 (555) 000-0001",
      expected: { kind: "prompt", context: { dialed: "15550000001", via: { didSid: "D1" } } },
    },
    {
      name: "DID in a group carries the group",
      input: "15550000002",
      expected: { kind: "prompt", context: { callFlow: { name: "secured" }, via: { didSid: "D2", didGroupSid: "G1" } } },
    },
    {
      name: "direct_host on the DID: join at once as host",
      input: "15550000005",
      expected: {
        kind: "join",
        meetingKey: "direct:A1:15550000005",
        role: "host",
        accountSid: "A1",
        meetingRoomSid: null,
        accessCode: null,
        callFlow: { name: "direct_host" },
      },
    },
    {
      name: "DID's direct_participant beats its group's open",
      input: "15550000006",
      expected: {
        kind: "join",
        meetingKey: "direct:A1:15550000006",
        role: "participant",
        callFlow: { name: "direct_participant" },
      },
    },
    {
      name: "direct_participant from the account",
      input: "+1 555 000 0009",
      expected: { kind: "join", meetingKey: "direct:A2:15550000009", role: "participant", accountSid: "A2" },
    },
    { name: "open on the DID", input: "15550000007", expected: { kind: "prompt", context: { callFlow: { name: "open" } } } },
    {
      name: "open from the DID group",
      input: "15550000008",
      expected: { kind: "prompt", context: { callFlow: { name: "open" } } },
    },
    { name: "no call flow at any level", input: "15550000010", expected: { kind: "refuse", reason: "no_call_flow" } },
    {
      name: "DID names a flow where the account has none",
      input: "15550000011",
      expected: { kind: "prompt", context: { accountSid: "A3", callFlow: { name: "secured" } } },
    },
    {
      name: "DID group names a flow where the account has none",
      input: "15550000012",
      expected: { kind: "prompt", context: { accountSid: "A3", callFlow: { name: "open" } } },
    },
    { name: "a call flow SID that names no flow", input: "15550000013", expected: { kind: "refuse", reason: "no_call_flow" } },
    {
      name: "prefix routes to its account",
      input: "7777555",
      expected: { kind: "prompt", context: { accountSid: "A1", dialed: "7777555", via: { kind: "prefix", prefix: "7777" } } },
    },
    {
      name: "longest prefix wins",
      input: "77778123",
      expected: { kind: "join", accountSid: "A2", meetingKey: "direct:A2:77778123", via: { kind: "prefix", prefix: "77778" } },
    },
    {
      name: "exact DID beats a prefix",
      input: "77771234",
      expected: { kind: "prompt", context: { via: { kind: "did", didSid: "D14" } } },
    },
    { name: "prefix of an account without a flow", input: "8888000", expected: { kind: "refuse", reason: "no_call_flow" } },
    { name: "digits that only start a prefix", input: "777", expected: { kind: "refuse", reason: "unknown_number" } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { router } = setup();
      expect(await router.route(inbound(c.input))).toMatchObject(c.expected);
    });
  }

  test("prompt attributes: call flow -> account -> DID group -> DID, no room yet", async () => {
    const { router } = setup();
    const ctx = await prompt(router, "15550000002");
    expect(ctx.attributes).toEqual({
      ...DEFAULT_ATTRIBUTES,
      conference_entrytones: "off",
      conference_moh: "rock",
      conference_exittones: "off",
      conference_stop_wait: "20",
    });
    expect(ctx.sources.conference_entrytones).toEqual({ level: "account", sid: "A1" });
    expect(ctx.sources.conference_moh).toEqual({ level: "did_group", sid: "G1" });
    expect(ctx.sources.conference_stop_wait).toEqual({ level: "did", sid: "D2" });
    expect(ctx.sources.conference_language).toEqual({ level: "call_flow", sid: SECURED });
  });

  test("prefix calls use the account's flow and attributes only", async () => {
    const config = createMemoryConfig(world());
    // The account's attributes and flow, nothing else, are what a prefix call keeps for admit.
    const port: ConfigPort = {
      findNumber: async () => ({
        kind: "prefix",
        account: { sid: "A1", callFlowSid: SECURED, attributes: { conference_moh: "jazz" } },
        prefix: "7777",
      }),
      findAccessCode: config.findAccessCode,
    };
    const router = createAccessRouter({ config: port });
    const ctx = await prompt(router, "7777000");
    expect(ctx.levels).toEqual({
      account: { sid: "A1", callFlowSid: SECURED, attributes: { conference_moh: "jazz" } },
      didGroup: null,
      did: null,
    });
    expect(ctx.attributes.conference_moh).toBe("jazz");
    expect(ctx.sources.conference_moh).toEqual({ level: "account", sid: "A1" });
  });

  test("decisions are plain data (the context survives JSON)", async () => {
    const { router } = setup();
    const ctx = await prompt(router, "15550000002");
    const copy = JSON.parse(JSON.stringify(ctx)) as PromptContext;
    expect(copy).toEqual(ctx);
    expect(await router.admit(copy, "2001")).toEqual(await router.admit(ctx, "2001"));
  });
});

describe("admit", () => {
  const cases: {
    name: string;
    input: { dialed: string; code: string };
    expected: Partial<Record<keyof JoinDecision | "reason", unknown>>;
  }[] = [
    {
      name: "secured: host code",
      input: { dialed: "15550000001", code: "1001" },
      expected: { kind: "join", meetingKey: "room:R1", role: "host", meetingRoomSid: "R1", accessCode: "1001", accountSid: "A1" },
    },
    {
      name: "secured: participant code",
      input: { dialed: "15550000001", code: "1002" },
      expected: { kind: "join", role: "participant" },
    },
    {
      name: "secured: listener code",
      input: { dialed: "15550000001", code: "1003" },
      expected: { kind: "join", role: "listener" },
    },
    {
      name: "secured: pound ends the code",
      input: { dialed: "15550000001", code: "1001#" },
      expected: { kind: "join", accessCode: "1001" },
    },
    {
      name: "secured: wrong code",
      input: { dialed: "15550000001", code: "9999" },
      expected: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "secured: empty code",
      input: { dialed: "15550000001", code: "#" },
      expected: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "secured: code of another account",
      input: { dialed: "15550000001", code: "3001" },
      expected: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "group room through a DID of its group",
      input: { dialed: "15550000002", code: "2001" },
      expected: { kind: "join", meetingKey: "room:R2", role: "host" },
    },
    {
      name: "group room through another DID of its group",
      input: { dialed: "15550000003", code: "2002" },
      expected: { kind: "join", meetingKey: "room:R2", role: "listener" },
    },
    {
      name: "group room through a DID of another group",
      input: { dialed: "15550000004", code: "2001" },
      expected: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "group room through a DID of no group",
      input: { dialed: "15550000001", code: "2001" },
      expected: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "group room through a prefix",
      input: { dialed: "7777000", code: "2001" },
      expected: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "ungrouped room through a grouped DID",
      input: { dialed: "15550000004", code: "1002" },
      expected: { kind: "join", meetingKey: "room:R1", role: "participant" },
    },
    {
      name: "ungrouped room through a prefix",
      input: { dialed: "7777000", code: "1001" },
      expected: { kind: "join", meetingKey: "room:R1" },
    },
    {
      name: "open: a room's code",
      input: { dialed: "15550000007", code: "1003" },
      expected: { kind: "join", meetingKey: "room:R1", role: "listener" },
    },
    {
      name: "open: any other code is an ad-hoc meeting as participant",
      input: { dialed: "15550000007", code: "424242#" },
      expected: { kind: "join", meetingKey: "adhoc:A1:424242", role: "participant", meetingRoomSid: null, accessCode: "424242" },
    },
    {
      name: "open: the same ad-hoc code from the group's DID is the same meeting",
      input: { dialed: "15550000008", code: "424242" },
      expected: { kind: "join", meetingKey: "adhoc:A1:424242" },
    },
    {
      name: "open: a group room's code through a DID outside the group",
      input: { dialed: "15550000007", code: "2001" },
      expected: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "open: not keypad input",
      input: { dialed: "15550000007", code: "12ab" },
      expected: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "open: empty code",
      input: { dialed: "15550000007", code: "" },
      expected: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "open from a DID group in an account without a flow: its room",
      input: { dialed: "15550000012", code: "4001" },
      expected: { kind: "join", meetingKey: "room:R4", role: "participant", accountSid: "A3" },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { router } = setup();
      const ctx = await prompt(router, c.input.dialed);
      expect(await router.admit(ctx, c.input.code)).toMatchObject(c.expected);
    });
  }

  test("room attributes override every level, and sources say so", async () => {
    const { router } = setup();
    const ctx = await prompt(router, "15550000002");
    const d = await router.admit(ctx, "1001");
    if (d.kind !== "join") throw new Error(JSON.stringify(d));
    expect(d.attributes).toEqual({
      ...DEFAULT_ATTRIBUTES,
      conference_entrytones: "on",
      call_mute_dtmf_binding: "*0",
      conference_moh: "rock",
      conference_exittones: "off",
      conference_stop_wait: "20",
    });
    expect(d.sources.conference_entrytones).toEqual({ level: "meeting_room", sid: "R1" });
    expect(d.sources.call_mute_dtmf_binding).toEqual({ level: "meeting_room", sid: "R1" });
    expect(d.sources.conference_moh).toEqual({ level: "did_group", sid: "G1" });
    expect(d.sources.conference_stop_wait).toEqual({ level: "did", sid: "D2" });
    expect(d.via).toEqual({ kind: "did", didSid: "D2", phonenumber: "15550000002", didGroupSid: "G1" });
  });

  test("ad-hoc meetings keep the prompt's attributes", async () => {
    const { router } = setup();
    const ctx = await prompt(router, "15550000007");
    const d = await router.admit(ctx, "555");
    if (d.kind !== "join") throw new Error(JSON.stringify(d));
    expect(d.attributes).toEqual(ctx.attributes);
    expect(d.sources).toEqual(ctx.sources);
  });

  test("property: a room join's attributes are the highest level's value per key", async () => {
    const key = fc.constantFrom(...ATTRIBUTE_KEYS);
    const overrides = fc.dictionary(key, fc.stringMatching(/^[a-z0-9]{1,6}$/), {
      maxKeys: 8,
    }) as fc.Arbitrary<AttributeOverrides>;
    await fc.assert(
      fc.asyncProperty(overrides, overrides, overrides, overrides, async (acc, grp, did, room) => {
        const config = createMemoryConfig({
          accounts: [{ sid: "A", callFlowSid: SECURED, attributes: acc }],
          didGroups: [{ sid: "G", accountSid: "A", attributes: grp }],
          dids: [{ sid: "D", accountSid: "A", phonenumber: "100", didGroupSid: "G", attributes: did }],
          meetingRooms: [
            {
              sid: "R",
              accountSid: "A",
              name: "r",
              didGroupSid: "G",
              attributes: room,
              accessCodes: [{ accessCode: "1", role: "host" }],
            },
          ],
        });
        const router = createAccessRouter({ config });
        const ctx = await prompt(router, "100");
        const d = await router.admit(ctx, "1");
        if (d.kind !== "join") throw new Error(JSON.stringify(d));
        for (const k of ATTRIBUTE_KEYS) {
          const levels: [LevelName, string, AttributeOverrides][] = [
            ["meeting_room", "R", room],
            ["did", "D", did],
            ["did_group", "G", grp],
            ["account", "A", acc],
          ];
          const winner = levels.find(([, , o]) => o[k as AttributeKey] !== undefined);
          expect(d.attributes[k]).toBe(winner ? winner[2][k]! : DEFAULT_ATTRIBUTES[k]);
          expect(d.sources[k]).toEqual(winner ? { level: winner[0], sid: winner[1] } : { level: "call_flow", sid: SECURED });
        }
      }),
      { numRuns: 100 },
    );
  });

  test("property: secured never makes ad-hoc meetings; open always does for unknown keypad codes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[0-9*]{1,12}$/), async (code) => {
        const { router } = setup();
        const known = ["1001", "1002", "1003", "2001", "2002"].includes(code);
        const secured = await router.admit(await prompt(router, "15550000001"), code);
        const open = await router.admit(await prompt(router, "15550000007"), code);
        if (known) return;
        expect(secured).toEqual({ kind: "refuse", reason: "unknown_code" });
        expect(open).toMatchObject({ kind: "join", meetingKey: `adhoc:A1:${code}`, role: "participant", meetingRoomSid: null });
      }),
      { numRuns: 100 },
    );
  });
});
