/**
 * End to end: Opus phones (baresip offering only opus/48000/2) and a PCMU phone in one
 * meeting of the real service. Each hears the others' tones, not its own; a 6 kHz tone
 * from an Opus phone reaches the other Opus phone (wideband end to end through the
 * 16 kHz mix) but not the PCMU one (narrowband); the API shows each call's codec.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Baresip } from "./lib/baresip.ts";
import { callBed, QUIET_ATTRIBUTES } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065923";
const OPUS_HZ = 440;
const PCMU_HZ = 1000;
/** Above narrowband's 4 kHz: only a wideband path carries it. */
const WIDE_HZ = 6000;
const HEARD_DB = -35;
const ABSENT_DB = -50;
const OPUS = "opus/48000/2";

const bed = callBed({ number: NUMBER, ports: { from: 55000, blocks: 50 } });
let opus: Baresip;
let pcmu: Baresip;
let wide: Baresip;

beforeAll(async () => {
  const room = await bed.acct.account.req("POST", "/conference/v2/meeting_rooms", {
    access_codes: [
      { access_code: "7771", role: "host" },
      { access_code: "7772", role: "participant" },
    ],
    attributes: QUIET_ATTRIBUTES,
  });
  expect(room.status).toBe(200);
  opus = await bed.caller(OPUS_HZ, "5001", { codecs: OPUS, sampleRate: 48000, channels: 2 });
  pcmu = await bed.caller(PCMU_HZ, "5002", { codecs: "pcmu" });
  wide = await bed.caller(WIDE_HZ, "5003", { codecs: OPUS, sampleRate: 48000, channels: 2 });
}, 60_000);

type Call = { call_sid: string; codecs: string; number_src: string; meeting_sid: string };

test("Opus and PCMU phones in one meeting hear each other; the API shows OPUS and PCMU", async () => {
  for (const [c, code] of [
    [opus, "7771"],
    [pcmu, "7772"],
    [wide, "7772"],
  ] as const) {
    await bed.dialIn(c, code);
  }
  const calls = await eventually(
    async () => {
      const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=10");
      // Callers at the code prompt are listed too (meeting_sid null): wait for all three to join.
      return r.body.items.length === 3 && r.body.items.every((c) => c.meeting_sid) ? r.body.items : null;
    },
    15_000,
    "three calls in the API",
  );
  const codecOf = (user: string) => calls.find((c) => c.number_src.includes(`sip:${user}@`))?.codecs;
  expect(codecOf("5001")).toBe("OPUS");
  expect(codecOf("5002")).toBe("PCMU");
  expect(codecOf("5003")).toBe("OPUS");
  // baresip prints the codec it agreed on.
  expect(opus.output).toMatch(/opus/i);

  await Bun.sleep(3500);
  const del = await bed.acct.account.req("DELETE", `/conference/v2/meetings/${calls[0]!.meeting_sid}`);
  expect(del.status).toBe(204);
  for (const c of [opus, pcmu, wide]) await c.waitFor(/terminat|closed/i, 10_000);
  for (const c of [opus, pcmu, wide]) await c.stop();

  const freqs = [OPUS_HZ, PCMU_HZ, WIDE_HZ];
  const byOpus = levelsAtEnd(opus.recording(), freqs, 1.5);
  const byPcmu = levelsAtEnd(pcmu.recording(), freqs, 1.5);
  const byWide = levelsAtEnd(wide.recording(), freqs, 1.5);
  const report = JSON.stringify({ byOpus, byPcmu, byWide });
  // The Opus phone hears the PCMU phone and the 6 kHz tone of the other Opus phone, not itself.
  expect(byOpus[PCMU_HZ]!, report).toBeGreaterThan(HEARD_DB);
  expect(byOpus[WIDE_HZ]!, report).toBeGreaterThan(HEARD_DB);
  expect(byOpus[OPUS_HZ]!, report).toBeLessThan(ABSENT_DB);
  // The PCMU phone hears the Opus phone's 440 Hz; 6 kHz does not fit in narrowband.
  expect(byPcmu[OPUS_HZ]!, report).toBeGreaterThan(HEARD_DB);
  expect(byPcmu[PCMU_HZ]!, report).toBeLessThan(ABSENT_DB);
  expect(byPcmu[WIDE_HZ]!, report).toBeLessThan(ABSENT_DB);
  // The other Opus phone hears both, not itself.
  expect(byWide[OPUS_HZ]!, report).toBeGreaterThan(HEARD_DB);
  expect(byWide[PCMU_HZ]!, report).toBeGreaterThan(HEARD_DB);
  expect(byWide[WIDE_HZ]!, report).toBeLessThan(ABSENT_DB);
}, 90_000);
