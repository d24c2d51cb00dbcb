import { describe, expect, test } from "bun:test";
import {
  ATTRIBUTE_KEYS,
  type AttributeKey,
  type AttributeOverrides,
  BUILT_IN_CALL_FLOWS,
  DEFAULT_ATTRIBUTES,
  type LevelName,
} from "@conf/call-flow";
import fc from "fast-check";
import type { AdmitDecision, JoinDecision, PromptContext, RouteDecision } from "./decision.ts";
import type { Invalidation } from "./invalidation.ts";
import { createMemoryConfig, type MemoryConfigData } from "./memory-config.ts";
import type { ConfigPort } from "./port.ts";
import { type AccessRouterOptions, createAccessRouter } from "./router.ts";

const flowSid = (name: string) => {
  const f = BUILT_IN_CALL_FLOWS.find((c) => c.name === name);
  if (!f) throw new Error(`no built-in flow ${name}`);
  return f.callFlowSid;
};
const SECURED = flowSid("secured");
const OPEN = flowSid("open");
const DIRECT_HOST = flowSid("direct_host");
const DIRECT_PARTICIPANT = flowSid("direct_participant");

/** A small world: A1 (secured) with DID groups and rooms, A2 (direct_participant), A3 (no flow), A4 (bad flow SID). */
function world(): MemoryConfigData {
  return {
    accounts: [
      { sid: "A1", callFlowSid: SECURED, attributes: { conference_entrytones: "off", conference_moh: "jazz" } },
      { sid: "A2", callFlowSid: DIRECT_PARTICIPANT },
      { sid: "A3", callFlowSid: null },
      { sid: "A4", callFlowSid: "00000000-0000-0000-0000-000000000000" },
    ],
    didGroups: [
      { sid: "G1", accountSid: "A1", attributes: { conference_exittones: "off", conference_moh: "rock" } },
      { sid: "G2", accountSid: "A1" },
      { sid: "G3", accountSid: "A1", callFlowSid: OPEN },
      { sid: "G4", accountSid: "A3", callFlowSid: OPEN },
    ],
    dids: [
      { sid: "D1", accountSid: "A1", phonenumber: "15550000001" },
      { sid: "D2", accountSid: "A1", phonenumber: "15550000002", didGroupSid: "G1", attributes: { conference_stop_wait: "20" } },
      { sid: "D3", accountSid: "A1", phonenumber: "15550000003", didGroupSid: "G1" },
      { sid: "D4", accountSid: "A1", phonenumber: "15550000004", didGroupSid: "G2" },
      { sid: "D5", accountSid: "A1", phonenumber: "15550000005", callFlowSid: DIRECT_HOST },
      { sid: "D6", accountSid: "A1", phonenumber: "15550000006", callFlowSid: DIRECT_PARTICIPANT, didGroupSid: "G3" },
      { sid: "D7", accountSid: "A1", phonenumber: "15550000007", callFlowSid: OPEN },
      { sid: "D8", accountSid: "A1", phonenumber: "15550000008", didGroupSid: "G3" },
      { sid: "D9", accountSid: "A2", phonenumber: "15550000009" },
      { sid: "D10", accountSid: "A3", phonenumber: "15550000010" },
      { sid: "D11", accountSid: "A3", phonenumber: "15550000011", callFlowSid: SECURED },
      { sid: "D12", accountSid: "A3", phonenumber: "15550000012", didGroupSid: "G4" },
      { sid: "D13", accountSid: "A4", phonenumber: "15550000013" },
      // Exact DID match wins over a prefix that also starts it.
      { sid: "D14", accountSid: "A1", phonenumber: "77771234" },
    ],
    prefixes: [
      { prefix: "7777", accountSid: "A1" },
      { prefix: "77778", accountSid: "A2" },
      { prefix: "8888", accountSid: "A3" },
    ],
    meetingRooms: [
      {
        sid: "R1",
        accountSid: "A1",
        name: "everyone",
        attributes: { conference_entrytones: "on", call_mute_dtmf_binding: "*0" },
        accessCodes: [
          { accessCode: "1001", role: "host" },
          { accessCode: "1002", role: "participant" },
          { accessCode: "1003", role: "listener" },
        ],
      },
      {
        sid: "R2",
        accountSid: "A1",
        name: "group one only",
        didGroupSid: "G1",
        accessCodes: [
          { accessCode: "2001", role: "host" },
          { accessCode: "2002", role: "listener" },
        ],
      },
      {
        sid: "R3",
        accountSid: "A2",
        name: "other account",
        accessCodes: [{ accessCode: "3001", role: "host" }],
      },
      {
        sid: "R4",
        accountSid: "A3",
        name: "no-flow account room",
        accessCodes: [{ accessCode: "4001", role: "participant" }],
      },
    ],
  };
}

/** Wraps a port to count its calls. */
function counting(port: ConfigPort) {
  const calls = { findNumber: 0, findAccessCode: 0 };
  const counted: ConfigPort = {
    findNumber: (d) => {
      calls.findNumber++;
      return port.findNumber(d);
    },
    findAccessCode: (a, c) => {
      calls.findAccessCode++;
      return port.findAccessCode(a, c);
    },
  };
  return { port: counted, calls };
}

function setup(opts: Partial<AccessRouterOptions> = {}) {
  const config = createMemoryConfig(world());
  const { port, calls } = counting(config);
  const router = createAccessRouter({ config: port, ...opts });
  return { config, calls, router };
}

const inbound = (dialed: string) => ({ dialed, caller: "15557770000", transport: "udp" as const });

async function prompt(router: ReturnType<typeof createAccessRouter>, dialed: string): Promise<PromptContext> {
  const d = await router.route(inbound(dialed));
  if (d.kind !== "prompt") throw new Error(`expected a prompt for ${dialed}, got ${JSON.stringify(d)}`);
  return d.context;
}

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

describe("caching", () => {
  test("number and code lookups are served from the cache", async () => {
    const { router, calls } = setup();
    for (let i = 0; i < 3; i++) {
      const ctx = await prompt(router, "15550000001");
      await router.admit(ctx, "1001");
    }
    expect(calls).toEqual({ findNumber: 1, findAccessCode: 1 });
  });

  test("a number is cached by its digits however it was written", async () => {
    const { router, calls } = setup();
    await router.route(inbound("15550000001"));
    await router.route(inbound("+1 555 000 0001"));
    await router.route(inbound("tel:+1-555-000-0001"));
    expect(calls.findNumber).toBe(1);
  });

  test("negative results are cached too", async () => {
    const { router, calls } = setup();
    const ctx = await prompt(router, "15550000001");
    for (let i = 0; i < 3; i++) {
      expect(await router.route(inbound("15559999999"))).toEqual({ kind: "refuse", reason: "unknown_number" });
      expect(await router.admit(ctx, "9999")).toEqual({ kind: "refuse", reason: "unknown_code" });
    }
    expect(calls).toEqual({ findNumber: 2, findAccessCode: 1 });
  });

  test("input that cannot be a number or code is refused without a lookup", async () => {
    const { router, calls } = setup();
    const ctx = await prompt(router, "15550000001");
    await router.route(inbound("sip:conference@example.com"));
    await router.admit(ctx, "#");
    expect(calls).toEqual({ findNumber: 1, findAccessCode: 0 });
  });

  test("entries expire after the TTL", async () => {
    let t = 1_000;
    const { router, calls } = setup({ cacheTtlMs: 100, now: () => t });
    await router.route(inbound("15550000001"));
    t += 99;
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(1);
    t += 1;
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
  });

  test("a TTL of 0 disables caching", async () => {
    const { router, calls } = setup({ cacheTtlMs: 0 });
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
  });

  test("the cache is bounded, oldest dropped first", async () => {
    const { router, calls } = setup({ cacheMaxEntries: 2 });
    for (const n of ["15550000001", "15550000002", "15550000003"]) await router.route(inbound(n));
    await router.route(inbound("15550000003"));
    await router.route(inbound("15550000002"));
    expect(calls.findNumber).toBe(3);
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(4);
  });

  test("concurrent calls to one number share a lookup", async () => {
    const { router, calls } = setup();
    const ds = await Promise.all(Array.from({ length: 10 }, () => router.route(inbound("15550000005"))));
    expect(calls.findNumber).toBe(1);
    expect(new Set(ds.map((d) => (d as JoinDecision).meetingKey))).toEqual(new Set(["direct:A1:15550000005"]));
  });

  test("a port failure is not cached and reaches the caller", async () => {
    const config = createMemoryConfig(world());
    let fail = true;
    const port: ConfigPort = {
      findNumber: async (d) => {
        if (fail) throw new Error("database down");
        return config.findNumber(d);
      },
      findAccessCode: config.findAccessCode,
    };
    const router = createAccessRouter({ config: port });
    await expect(router.route(inbound("15550000001"))).rejects.toThrow("database down");
    fail = false;
    expect((await router.route(inbound("15550000001"))).kind).toBe("prompt");
  });
});

describe("invalidation after a change", () => {
  const changes: {
    name: string;
    before: { dialed: string; code?: string };
    change: (d: MemoryConfigData) => void;
    scope: Invalidation;
    expectedBefore: Partial<Record<string, unknown>>;
    expectedAfter: Partial<Record<string, unknown>>;
  }[] = [
    {
      name: "a code added to a room",
      before: { dialed: "15550000001", code: "1234" },
      change: (d) => d.meetingRooms[0]!.accessCodes.push({ accessCode: "1234", role: "participant" }),
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "refuse", reason: "unknown_code" },
      expectedAfter: { kind: "join", meetingKey: "room:R1", role: "participant" },
    },
    {
      name: "a code removed",
      before: { dialed: "15550000001", code: "1001" },
      change: (d) => {
        d.meetingRooms[0]!.accessCodes = d.meetingRooms[0]!.accessCodes.filter((c) => c.accessCode !== "1001");
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", meetingKey: "room:R1" },
      expectedAfter: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "a code's role changed",
      before: { dialed: "15550000001", code: "1003" },
      change: (d) => {
        d.meetingRooms[0]!.accessCodes[2]!.role = "host";
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", role: "listener" },
      expectedAfter: { kind: "join", role: "host" },
    },
    {
      name: "a room bound to a DID group",
      before: { dialed: "15550000001", code: "1001" },
      change: (d) => {
        d.meetingRooms[0]!.didGroupSid = "G2";
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", meetingKey: "room:R1" },
      expectedAfter: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "a DID moved to another account",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.dids[0]!.accountSid = "A2";
      },
      scope: { kind: "account", accountSid: "A2" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "join", meetingKey: "direct:A2:15550000001" },
    },
    {
      name: "a new DID for a number that was refused",
      before: { dialed: "15559999999" },
      change: (d) => d.dids.push({ sid: "D99", accountSid: "A2", phonenumber: "15559999999" }),
      scope: { kind: "account", accountSid: "A2" },
      expectedBefore: { kind: "refuse", reason: "unknown_number" },
      expectedAfter: { kind: "join", accountSid: "A2" },
    },
    {
      name: "the account's call flow changed",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.accounts[0]!.callFlowSid = DIRECT_HOST;
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "join", role: "host" },
    },
    {
      name: "the account's call flow removed",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.accounts[0]!.callFlowSid = null;
      },
      scope: { kind: "all" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "refuse", reason: "no_call_flow" },
    },
    {
      name: "a prefix deleted",
      before: { dialed: "7777000" },
      change: (d) => {
        d.prefixes = d.prefixes.filter((p) => p.prefix !== "7777");
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "refuse", reason: "unknown_number" },
    },
  ];

  async function run(
    router: ReturnType<typeof createAccessRouter>,
    input: { dialed: string; code?: string },
  ): Promise<RouteDecision | AdmitDecision> {
    const d = await router.route(inbound(input.dialed));
    if (input.code === undefined || d.kind !== "prompt") return d;
    return router.admit(d.context, input.code);
  }

  for (const c of changes) {
    test(c.name, async () => {
      const { router, config } = setup();
      expect(await run(router, c.before)).toMatchObject(c.expectedBefore);
      c.change(config.data);
      // Cached: the change is not seen until it is announced.
      expect(await run(router, c.before)).toMatchObject(c.expectedBefore);
      router.invalidate(c.scope);
      expect(await run(router, c.before)).toMatchObject(c.expectedAfter);
    });
  }

  test("an account's invalidation keeps other accounts' codes", async () => {
    const { router, calls } = setup();
    const a1 = await prompt(router, "15550000001");
    const a3 = await prompt(router, "15550000012");
    await router.admit(a1, "1001");
    await router.admit(a3, "4001");
    router.invalidate({ kind: "account", accountSid: "A1" });
    await router.admit(a3, "4001");
    expect(calls.findAccessCode).toBe(2);
    await router.admit(a1, "1001");
    expect(calls.findAccessCode).toBe(3);
    // Number lookups are all dropped: DIDs can move between accounts.
    await router.route(inbound("15550000012"));
    expect(calls.findNumber).toBe(3);
  });

  test("a lookup in flight during an invalidation is not cached", async () => {
    const config = createMemoryConfig(world());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const port: ConfigPort = {
      findNumber: async (d) => {
        n++;
        const answer = await config.findNumber(d); // read before the change
        if (n === 1) await gate;
        return answer;
      },
      findAccessCode: config.findAccessCode,
    };
    const router = createAccessRouter({ config: port });
    const pending = router.route(inbound("15550000001"));
    config.data.accounts[0]!.callFlowSid = DIRECT_HOST;
    router.invalidate({ kind: "account", accountSid: "A1" });
    release();
    expect((await pending).kind).toBe("prompt");
    expect(await router.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });
    expect(n).toBe(2);
  });

  test("subscribed invalidations reach every router; close unsubscribes", async () => {
    const handlers = new Set<(s: Invalidation) => void>();
    const bus = {
      subscribe: (h: (s: Invalidation) => void) => {
        handlers.add(h);
        return () => handlers.delete(h);
      },
      publish: (s: unknown) => {
        for (const h of handlers) h(s as Invalidation);
      },
    };
    const config = createMemoryConfig(world());
    const routers = [1, 2].map(() => createAccessRouter({ config, subscribe: bus.subscribe }));
    for (const r of routers) expect((await r.route(inbound("15550000001"))).kind).toBe("prompt");
    config.data.accounts[0]!.callFlowSid = DIRECT_PARTICIPANT;
    bus.publish({ kind: "account", accountSid: "A1" });
    for (const r of routers) expect(await r.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "participant" });

    config.data.accounts[0]!.callFlowSid = DIRECT_HOST;
    bus.publish("not json at all"); // unreadable: drop everything
    for (const r of routers) expect(await r.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });

    routers[0]!.close();
    routers[0]!.close();
    expect(handlers.size).toBe(1);
    config.data.accounts[0]!.callFlowSid = SECURED;
    bus.publish({ kind: "all" });
    expect(await routers[0]!.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });
    expect((await routers[1]!.route(inbound("15550000001"))).kind).toBe("prompt");
  });
});

describe("asynchronous subscription (as Bus.subscribe)", () => {
  function asyncBus() {
    const handlers = new Set<(s: Invalidation) => void>();
    let resolveSub: () => void = () => {};
    let rejectSub: (e: Error) => void = () => {};
    const subscribed = new Promise<void>((res, rej) => {
      resolveSub = res;
      rejectSub = rej;
    });
    let unsubscribed = 0;
    return {
      handlers,
      resolveSub: () => resolveSub(),
      rejectSub: (e: Error) => rejectSub(e),
      get unsubscribed() {
        return unsubscribed;
      },
      subscribe: async (h: (s: Invalidation) => void) => {
        await subscribed;
        handlers.add(h);
        return async () => {
          unsubscribed++;
          handlers.delete(h);
        };
      },
    };
  }

  test("nothing is cached until the subscription is active, then the cache starts empty", async () => {
    const bus = asyncBus();
    const { router, calls } = setup({ subscribe: bus.subscribe });
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
    bus.resolveSub();
    await router.ready;
    expect(bus.handlers.size).toBe(1);
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(3);
  });

  test("a lookup in flight when the subscription becomes active is not cached", async () => {
    const bus = asyncBus();
    const config = createMemoryConfig(world());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const router = createAccessRouter({
      config: {
        findNumber: async (d) => {
          n++;
          const answer = await config.findNumber(d);
          if (n === 1) await gate;
          return answer;
        },
        findAccessCode: config.findAccessCode,
      },
      subscribe: bus.subscribe,
    });
    const pending = router.route(inbound("15550000001"));
    bus.resolveSub();
    await router.ready;
    release();
    await pending;
    await router.route(inbound("15550000001"));
    expect(n).toBe(2);
  });

  test("a failed subscription leaves the router working without a cache", async () => {
    const bus = asyncBus();
    const { router, calls } = setup({ subscribe: bus.subscribe });
    bus.rejectSub(new Error("redis down"));
    await expect(router.ready).rejects.toThrow("redis down");
    for (let i = 0; i < 3; i++) expect((await router.route(inbound("15550000001"))).kind).toBe("prompt");
    expect(calls.findNumber).toBe(3);
  });

  test("closing before the subscription is active unsubscribes once it is", async () => {
    const bus = asyncBus();
    const { router } = setup({ subscribe: bus.subscribe });
    router.close();
    bus.resolveSub();
    await router.ready;
    expect(bus.unsubscribed).toBe(1);
  });

  test("without subscribe the router is ready at once", async () => {
    const { router } = setup();
    await router.ready;
  });
});
