import { describe, expect, test } from "bun:test";
import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import fc from "fast-check";
import { createMemoryConfig } from "./memory-config.ts";

describe("createMemoryConfig", () => {
  test("an exact DID match, stored with formatting, returns its levels", async () => {
    const config = createMemoryConfig({
      accounts: [{ sid: "a", callFlowSid: DEFAULT_CALL_FLOW_SID }],
      didGroups: [{ sid: "g", accountSid: "a", attributes: { conference_moh: "x" } }],
      dids: [{ sid: "d", accountSid: "a", phonenumber: "+1 516 206 5919", didGroupSid: "g" }],
    });
    expect(await config.findNumber("15162065919")).toEqual({
      kind: "did",
      account: { sid: "a", callFlowSid: DEFAULT_CALL_FLOW_SID, attributes: null },
      did: { sid: "d", phonenumber: "15162065919", attributes: null, callFlowSid: null },
      didGroup: { sid: "g", attributes: { conference_moh: "x" }, callFlowSid: null },
    });
  });

  test("records of a missing account do not match", async () => {
    const config = createMemoryConfig({
      dids: [{ sid: "d", accountSid: "gone", phonenumber: "100" }],
      prefixes: [{ prefix: "1", accountSid: "gone" }],
      meetingRooms: [{ sid: "r", accountSid: "gone", name: "r", accessCodes: [{ accessCode: "1", role: "host" }] }],
    });
    expect(await config.findNumber("100")).toBeNull();
    expect(await config.findAccessCode("gone", "2")).toBeNull();
  });

  test("property: the longest prefix that starts the digits wins, else null", async () => {
    const digits = (max: number) => fc.stringMatching(new RegExp(`^[0-9]{1,${max}}$`));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(digits(4), { maxLength: 8 }), digits(8), async (prefixes, dialed) => {
        const config = createMemoryConfig({
          accounts: prefixes.map((p) => ({ sid: `acc-${p}` })),
          prefixes: prefixes.map((p) => ({ prefix: p, accountSid: `acc-${p}` })),
        });
        const starting = prefixes.filter((p) => dialed.startsWith(p)).sort((a, b) => b.length - a.length);
        const m = await config.findNumber(dialed);
        if (starting.length === 0) {
          expect(m).toBeNull();
          return;
        }
        expect(m).toEqual({
          kind: "prefix",
          prefix: starting[0]!,
          account: { sid: `acc-${starting[0]}`, attributes: null, callFlowSid: null },
        });
      }),
    );
  });
});
