import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ATTRIBUTE_KEYS, type AttributeKey, DEFAULT_ATTRIBUTES } from "./attributes.ts";
import { BUILT_IN_CALL_FLOWS } from "./call-flows.ts";
import { type Level, resolve } from "./resolve.ts";

const [secured, open, directHost] = BUILT_IN_CALL_FLOWS;
const account: Level = { sid: "acc", callFlowSid: secured!.callFlowSid };

describe("resolve", () => {
  test("call flow defaults when nobody overrides", () => {
    const r = resolve({ account });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.attributes).toEqual({ ...DEFAULT_ATTRIBUTES });
    expect(r.value.callFlow.name).toBe("secured");
    expect(r.value.sources.conference_entrytones).toEqual({ level: "call_flow", sid: secured!.callFlowSid });
  });

  test("highest level wins and says where each value came from", () => {
    const r = resolve({
      account: { ...account, attributes: { conference_entrytones: "off", conference_exittones: "off" } },
      didGroup: { sid: "grp", attributes: { conference_exittones: "on", conference_stop_wait: "10" } },
      did: { sid: "did", attributes: { conference_stop_wait: "20" } },
      meetingRoom: { sid: "room", attributes: { call_mute_dtmf_binding: "*0" } },
    });
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.attributes.conference_entrytones).toBe("off");
    expect(r.value.sources.conference_entrytones).toEqual({ level: "account", sid: "acc" });
    expect(r.value.attributes.conference_exittones).toBe("on");
    expect(r.value.sources.conference_exittones).toEqual({ level: "did_group", sid: "grp" });
    expect(r.value.attributes.conference_stop_wait).toBe("20");
    expect(r.value.sources.conference_stop_wait).toEqual({ level: "did", sid: "did" });
    expect(r.value.attributes.call_mute_dtmf_binding).toBe("*0");
    expect(r.value.sources.call_mute_dtmf_binding).toEqual({ level: "meeting_room", sid: "room" });
  });

  const choice: { name: string; did?: string; group?: string; acc?: string; prefix?: boolean; expected: string | null }[] = [
    {
      name: "DID's flow first",
      did: directHost!.callFlowSid,
      group: open!.callFlowSid,
      acc: secured!.callFlowSid,
      expected: "direct_host",
    },
    { name: "then the DID group's", group: open!.callFlowSid, acc: secured!.callFlowSid, expected: "open" },
    { name: "then the account's", acc: secured!.callFlowSid, expected: "secured" },
    { name: "none anywhere", expected: null },
    {
      name: "prefix calls use the account only",
      did: directHost!.callFlowSid,
      group: open!.callFlowSid,
      acc: secured!.callFlowSid,
      prefix: true,
      expected: "secured",
    },
  ];
  for (const c of choice) {
    test(`call flow choice: ${c.name}`, () => {
      const r = resolve({
        account: { sid: "acc", callFlowSid: c.acc ?? null },
        didGroup: { sid: "grp", callFlowSid: c.group ?? null },
        did: { sid: "did", callFlowSid: c.did ?? null },
        viaPrefix: c.prefix,
      });
      if (c.expected === null) expect(r).toEqual({ ok: false, error: { reason: "no_call_flow" } });
      else expect(r.ok ? (r.value.callFlow.name as string) : null).toBe(c.expected);
    });
  }

  test("prefix calls ignore DID and DID group attributes", () => {
    const r = resolve({
      account,
      did: { sid: "did", attributes: { conference_stop_wait: "20" } },
      didGroup: { sid: "grp", attributes: { conference_start_wait: "20" } },
      viaPrefix: true,
    });
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.attributes.conference_stop_wait).toBe(DEFAULT_ATTRIBUTES.conference_stop_wait);
    expect(r.value.attributes.conference_start_wait).toBe(DEFAULT_ATTRIBUTES.conference_start_wait);
  });

  test("an unknown call flow SID is an error, not a silent default", () => {
    const r = resolve({ account: { sid: "acc", callFlowSid: "nope" } });
    expect(r).toEqual({ ok: false, error: { reason: "unknown_call_flow", callFlowSid: "nope" } });
  });

  test("property: each value comes from the highest level that sets it", () => {
    const levels = ["account", "did_group", "did", "meeting_room"] as const;
    const overrides = fc.dictionary(fc.constantFrom(...ATTRIBUTE_KEYS), fc.constantFrom("on", "off")) as fc.Arbitrary<
      Partial<Record<AttributeKey, string>>
    >;
    fc.assert(
      fc.property(fc.tuple(overrides, overrides, overrides, overrides), (os) => {
        const r = resolve({
          account: { ...account, attributes: os[0] },
          didGroup: { sid: "did_group", attributes: os[1] },
          did: { sid: "did", attributes: os[2] },
          meetingRoom: { sid: "meeting_room", attributes: os[3] },
        });
        if (!r.ok) throw new Error("expected ok");
        for (const key of ATTRIBUTE_KEYS) {
          let expectedLevel = "call_flow";
          let expectedValue = DEFAULT_ATTRIBUTES[key];
          os.forEach((o, i) => {
            const v = o[key];
            if (v !== undefined) {
              expectedLevel = levels[i]!;
              expectedValue = v;
            }
          });
          expect(r.value.attributes[key]).toBe(expectedValue);
          expect(r.value.sources[key].level as string).toBe(expectedLevel);
        }
      }),
    );
  });
});
