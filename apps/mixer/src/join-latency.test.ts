import { describe, expect, test } from "bun:test";
import type { CallSession } from "./call.ts";
import { DomainEvents } from "./domain-events.ts";
import { JoinLatency } from "./join-latency.ts";

/** What JoinLatency reads of a call. */
function fakeCall(sid: string, keyedAt: number, releasedAt = 0) {
  return { callSid: sid, codeKeyedAt: keyedAt, keyReleasedAt: releasedAt, state: "meeting", jitter: { played: 0 } };
}

function joined(events: DomainEvents, sid: string): void {
  events.emit({ type: "call.joined", callSid: sid, meetingSid: "m", call: {} as never });
}

/** A JoinLatency over `calls` (looked up by SID) on a clock at 1000 ms that the test moves. */
function watch(...list: ReturnType<typeof fakeCall>[]) {
  const events = new DomainEvents();
  const calls = new Map(list.map((c) => [c.callSid, c]));
  const clock = { now: 1000 };
  const j = new JoinLatency(
    events,
    (sid) => calls.get(sid) as unknown as CallSession,
    undefined,
    () => clock.now,
  );
  return { events, calls, clock, j };
}

describe("JoinLatency", () => {
  test("from the key's release when this node saw it (a phone sends no voice while the key is down), else from its press", () => {
    // Pressed at 1000, released at 1100 (its end packet arrived here); an older release does not count.
    const { events, calls, clock, j } = watch(fakeCall("a", 1000, 1100), fakeCall("b", 1000, 900));
    const seen: [number, number][] = [];
    const j2 = new JoinLatency(
      events,
      (sid) => calls.get(sid) as unknown as CallSession,
      (_c, ms, press) => seen.push([ms, press]),
      () => clock.now,
    );
    joined(events, "a");
    joined(events, "b");
    calls.get("a")!.jitter.played = 1;
    calls.get("b")!.jitter.played = 1;
    clock.now = 1130;
    j.afterMix();
    j2.afterMix();
    expect(j.histogram.sum).toBeCloseTo(0.03 + 0.13, 6);
    expect(seen.sort((x, y) => x[0] - y[0])).toEqual([
      [30, 130],
      [130, 130],
    ]);
  });

  test("measures from the code's last key to the first mixed frame, once per call", () => {
    const { events, calls, clock, j } = watch(fakeCall("a", 1000), fakeCall("b", 1040));
    joined(events, "a");
    joined(events, "b");
    clock.now = 1060;
    j.afterMix();
    expect(j.histogram.count).toBe(0);
    calls.get("a")!.jitter.played = 1;
    clock.now = 1080;
    j.afterMix();
    expect(j.histogram.count).toBe(1);
    expect(j.histogram.sum).toBeCloseTo(0.08, 6);
    expect(j.pending).toBe(1);
    calls.get("b")!.jitter.played = 3;
    j.afterMix();
    j.afterMix();
    expect(j.histogram.count).toBe(2);
    expect(j.histogram.sum).toBeCloseTo(0.08 + 0.04, 6);
    expect(j.pending).toBe(0);
  });

  test("calls without a keyed code are not watched; a call that leaves or stays silent is let go unmeasured", () => {
    const { events, calls, clock, j } = watch(fakeCall("nokey", 0), fakeCall("gone", 1000), fakeCall("silent", 1000));
    for (const sid of calls.keys()) joined(events, sid);
    expect(j.pending).toBe(2);
    calls.get("gone")!.state = "ended";
    j.afterMix();
    expect(j.pending).toBe(1);
    clock.now = 1000 + 10_001;
    j.afterMix();
    expect(j.pending).toBe(0);
    expect(j.histogram.count).toBe(0);
  });
});
