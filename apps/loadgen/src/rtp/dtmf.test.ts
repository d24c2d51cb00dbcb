import { describe, expect, test } from "bun:test";
import { dtmfEventCode, planDtmf, writeDtmfPayload } from "./dtmf.ts";

describe("planDtmf (RFC 4733 sender)", () => {
  test("one digit: marker first, growing duration, three end packets, then the gap", () => {
    const r = planDtmf("5");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const plan = r.plan;
    // 100 ms of tone = 5 ticks, 50 ms gap = 3 ticks of audio.
    expect(plan).toHaveLength(8);
    const ticks = plan.slice(0, 5).map((t) => t!);
    expect(ticks.map((t) => t.length)).toEqual([1, 1, 1, 1, 3]);
    expect(ticks.map((t) => t[0]!.duration)).toEqual([160, 320, 480, 640, 800]);
    expect(ticks.map((t) => t[0]!.marker)).toEqual([true, false, false, false, false]);
    expect(ticks.map((t) => t[0]!.end)).toEqual([false, false, false, false, true]);
    for (const p of ticks[4]!) expect(p).toEqual({ event: 5, end: true, marker: false, duration: 800, startTick: 0, volume: 10 });
    expect(ticks.every((t) => t.every((p) => p.startTick === 0 && p.event === 5))).toBe(true);
    expect(plan.slice(5)).toEqual([null, null, null]);
  });

  test("a code: each digit starts a new event at its own tick", () => {
    const r = planDtmf("12#");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const starts = r.plan.flatMap((t, i) => (t && t[0]!.marker ? [{ i, ev: t[0]!.event, start: t[0]!.startTick }] : []));
    expect(starts).toEqual([
      { i: 0, ev: 1, start: 0 },
      { i: 8, ev: 2, start: 8 },
      { i: 16, ev: 11, start: 16 },
    ]);
    const endPackets = r.plan.flat().filter((p) => p?.end).length;
    expect(endPackets).toBe(9);
  });

  test("rejects characters that are not keys; maps * # A-D", () => {
    expect(planDtmf("12x").ok).toBe(false);
    expect(["*", "#", "a", "D", "0"].map(dtmfEventCode)).toEqual([10, 11, 12, 15, 0]);
  });

  test("payload layout: event, E bit and volume, 16-bit duration", () => {
    const buf = new Uint8Array(4);
    writeDtmfPayload(buf, 0, { event: 11, end: true, marker: false, duration: 800, startTick: 0, volume: 10 });
    expect(Array.from(buf)).toEqual([11, 0x80 | 10, 800 >> 8, 800 & 0xff]);
  });
});
