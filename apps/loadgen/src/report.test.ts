import { describe, expect, test } from "bun:test";
import type { CallRecord } from "./generator-types.ts";
import { parseProcStat } from "./cpu.ts";
import { quantile, setupFigures, table } from "./report.ts";

function call(i: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    index: i,
    fromUser: `n${i}`,
    role: "participant",
    status: 200,
    reason: "",
    inviteAt: 1000 + i * 10,
    answeredAt: 1005 + i * 10,
    codeSentAt: 2000 + i * 10,
    codeDoneAt: 2100 + i * 10,
    hangupAt: 9000,
    firstRtpAt: 1010,
    remoteByeAt: null,
    byeStatus: 200,
    inviteTo200Ms: 5,
    inviteTo100Ms: 1,
    retransmissions: 0,
    moves: 0,
    moveGapMs: null,
    ...over,
  };
}

describe("setupFigures", () => {
  test("classifies failures: status, not joined, dropped by the service, BYE errors", () => {
    const calls = [
      call(0),
      call(1),
      call(2, { status: 486, reason: "Busy Here", answeredAt: null, inviteTo200Ms: null }),
      call(3, { status: 408, reason: "timer B", answeredAt: null }),
      call(4), // never seen in the API
      call(5, { remoteByeAt: 5000 }), // BYE from the service before ours
      call(6, { byeStatus: 408 }),
    ];
    const joins = new Map([
      ["n0", 2030],
      ["n1", 2015],
      ["n5", 2060],
      ["n6", 2070],
    ]);
    const f = setupFigures(calls, joins);
    expect(f.attempted).toBe(7);
    expect(f.answered).toBe(5);
    expect(f.joined).toBe(4);
    expect(f.failures).toEqual({ "486": 1, "408": 1, "not joined": 1, "dropped by service": 1, "BYE not answered 2xx": 1 });
    expect(f.failed).toBe(5);
    // '#' pressed at 2000 + 10i; joins 30, 5, 10, 10 ms later.
    expect(f.codeToJoinP50).toBe(10);
    expect(f.codeToJoinP99).toBe(30);
    expect(f.offeredRate).toBeCloseTo(100, 5);
  });

  test("without API joins, join figures are absent and nobody is 'not joined'", () => {
    const f = setupFigures([call(0), call(1)], null);
    expect(f.joined).toBe(0);
    expect(f.codeToJoinP50).toBeNull();
    expect(f.failed).toBe(0);
  });
});

describe("helpers", () => {
  test("quantile is nearest-rank and keeps negatives", () => {
    expect(quantile([5, -1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, -1, 3, 2, 4], 0)).toBe(-1);
    expect(quantile([], 0.5)).toBeNaN();
  });

  test("parseProcStat survives spaces and parentheses in the command name", () => {
    const line = "1234 (bun (mixer) x) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
    expect(parseProcStat(line)).toEqual({ ticks: 325, ppid: 1, comm: "bun (mixer) x" });
    expect(parseProcStat("garbage")).toBeNull();
  });

  test("table pads columns", () => {
    expect(table(["a", "bb"], [["xyz", "1"]])).toBe("| a   | bb |\n|-----|----|\n| xyz | 1  |");
  });
});
