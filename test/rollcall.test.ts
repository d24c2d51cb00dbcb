/**
 * End to end: roll call. A listener is never heard in the mix, so the only way the host
 * can hear the listener's tone is the listener's recorded name, played to the meeting
 * when it joins (conference_rollcall_onenter) and when it leaves (..._onexit).
 */
import { beforeAll, expect, test } from "bun:test";
import { callBed, QUIET_ATTRIBUTES } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";
import { peakLevelDb } from "./lib/spectrum.ts";

const NUMBER = "15162065921";
const LISTENER_HZ = 1500;

const bed = callBed({ number: NUMBER, ports: { from: 49000, blocks: 50 } });

beforeAll(async () => {
  await bed.acct.account.req("POST", "/conference/v2/meeting_rooms", {
    name: "rollcall",
    access_codes: [
      { access_code: "5551", role: "host" },
      { access_code: "5553", role: "listener" },
    ],
    attributes: {
      ...QUIET_ATTRIBUTES,
      conference_rollcall: "on",
      conference_rollcall_onenter: "on",
      conference_rollcall_onexit: "on",
    },
  });
}, 60_000);

/** A call of the API (`meeting_sid` null while it is at the prompt). */
type Call = { role: string | null; meeting_sid: string | null };

test("a listener's recorded name is played to the meeting when it joins and leaves", async () => {
  const host = await bed.caller(0, "3001");
  const listener = await bed.caller(LISTENER_HZ, "3003");
  await bed.dialIn(host, "5551");
  await bed.dialIn(listener, "5553");
  // Both record a name (about 2.5 s after the prompt) before they join.
  await eventually(
    async () => {
      const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls");
      return r.body.items.filter((c) => c.meeting_sid !== null).length === 2;
    },
    20_000,
    "both joined after recording their names",
  );
  await Bun.sleep(4000);
  listener.command("/hangup");
  await listener.waitFor(/terminat|closed/i, 5000);
  await Bun.sleep(4000);
  host.command("/hangup");
  await host.waitFor(/terminat|closed/i, 5000);
  await host.stop();
  await listener.stop();
  // The host sent silence, so its own name is silent; what it hears at 1500 Hz is the listener's name.
  const peak = peakLevelDb(host.recording(), LISTENER_HZ, 0.5);
  expect(peak).toBeGreaterThan(-35);
}, 60_000);
