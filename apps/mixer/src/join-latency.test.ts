import { describe, expect, test } from "bun:test";
import type { CallSession } from "./call.ts";
import { DomainEvents } from "./domain-events.ts";
import { JoinLatency } from "./join-latency.ts";

/** The three things JoinLatency reads of a call. */
function fakeCall(sid: string, keyedAt: number) {
  return { callSid: sid, codeKeyedAt: keyedAt, state: "meeting", jitter: { played: 0 } };
}

function joined(events: DomainEvents, sid: string): void {
  events.emit({ type: "call.joined", callSid: sid, meetingSid: "m", call: {} as never });
}

describe("JoinLatency", () => {
  test("measures from the code's last key to the first mixed frame, once per call", () => {
    const events = new DomainEvents();
    const calls = new Map([
      ["a", fakeCall("a", 1000)],
      ["b", fakeCall("b", 1040)],
    ]);
    let now = 1000;
    const j = new JoinLatency(
      events,
      (sid) => calls.get(sid) as unknown as CallSession,
      undefined,
      () => now,
    );
    joined(events, "a");
    joined(events, "b");
    now = 1060;
    j.afterMix();
    expect(j.histogram.count).toBe(0);
    calls.get("a")!.jitter.played = 1;
    now = 1080;
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
    const events = new DomainEvents();
    const calls = new Map([
      ["nokey", fakeCall("nokey", 0)],
      ["gone", fakeCall("gone", 1000)],
      ["silent", fakeCall("silent", 1000)],
    ]);
    let now = 1000;
    const j = new JoinLatency(
      events,
      (sid) => calls.get(sid) as unknown as CallSession,
      undefined,
      () => now,
    );
    for (const sid of calls.keys()) joined(events, sid);
    expect(j.pending).toBe(2);
    calls.get("gone")!.state = "ended";
    j.afterMix();
    expect(j.pending).toBe(1);
    now = 1000 + 10_001;
    j.afterMix();
    expect(j.pending).toBe(0);
    expect(j.histogram.count).toBe(0);
  });
});
