// The checks of the generator's former RFC 4733 plan (planDtmf), on the packets it sends now.
import { describe, expect, test } from "bun:test";
import { dtmfEvent } from "@conf/media";
import { CodeSender, codeError } from "./code.ts";

interface Packet {
  event: number;
  end: boolean;
  marker: boolean;
  duration: number;
  timestamp: number;
  volume: number;
}

/** Every tick of `digits`: its packets, or null for an audio tick; tick k has timestamp 1000 + 160k. */
function ticksOf(digits: string): (Packet[] | null)[] {
  const code = new CodeSender(digits);
  const bufs = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
  const out: (Packet[] | null)[] = [];
  for (let k = 0; k < code.ticks; k++) {
    const n = code.step(k, 1000 + 160 * k, bufs, 0);
    if (n === 0) {
      out.push(null);
      continue;
    }
    out.push(
      bufs.slice(0, n).map((b, j) => ({
        event: b[0]!,
        end: (b[1]! & 0x80) !== 0,
        marker: code.markers[j]!,
        duration: (b[2]! << 8) | b[3]!,
        timestamp: code.eventTimestamp,
        volume: b[1]! & 0x3f,
      })),
    );
  }
  return out;
}

describe("a code keyed by RFC 4733", () => {
  test("one digit: marker first, growing duration, three end packets, then the gap", () => {
    const plan = ticksOf("5");
    // 100 ms of tone = 5 ticks, 50 ms gap = 3 ticks of audio.
    expect(plan).toHaveLength(8);
    const ticks = plan.slice(0, 5).map((t) => t!);
    expect(ticks.map((t) => t.length)).toEqual([1, 1, 1, 1, 3]);
    expect(ticks.map((t) => t[0]!.duration)).toEqual([160, 320, 480, 640, 800]);
    expect(ticks.map((t) => t[0]!.marker)).toEqual([true, false, false, false, false]);
    expect(ticks.map((t) => t[0]!.end)).toEqual([false, false, false, false, true]);
    for (const p of ticks[4]!)
      expect(p).toEqual({ event: 5, end: true, marker: false, duration: 800, timestamp: 1000, volume: 10 });
    expect(ticks.every((t) => t.every((p) => p.timestamp === 1000 && p.event === 5))).toBe(true);
    expect(plan.slice(5)).toEqual([null, null, null]);
  });

  test("a code: each digit starts a new event at its own tick", () => {
    const plan = ticksOf("12#");
    const starts = plan.flatMap((t, i) =>
      t && t[0]!.marker ? [{ i, ev: t[0]!.event, start: (t[0]!.timestamp - 1000) / 160 }] : [],
    );
    expect(starts).toEqual([
      { i: 0, ev: 1, start: 0 },
      { i: 8, ev: 2, start: 8 },
      { i: 16, ev: 11, start: 16 },
    ]);
    const endPackets = plan.flat().filter((p) => p?.end).length;
    expect(endPackets).toBe(9);
  });

  test("rejects characters that are not keys; maps * # A-D", () => {
    expect(codeError("12x")).not.toBeNull();
    expect(codeError("12#")).toBeNull();
    expect(["*", "#", "a", "D", "0"].map(dtmfEvent)).toEqual([10, 11, 12, 15, 0]);
  });

  test("payload layout: event, E bit and volume, 16-bit duration", () => {
    const last = ticksOf("#")[4]![2]!;
    expect(last).toEqual({ event: 11, end: true, marker: false, duration: 800, timestamp: 1000, volume: 10 });
    const code = new CodeSender("#");
    const bufs = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
    for (let k = 0; k < 5; k++) code.step(k, 0, bufs, 0);
    expect(Array.from(bufs[2]!)).toEqual([11, 0x80 | 10, 800 >> 8, 800 & 0xff]);
  });
});
