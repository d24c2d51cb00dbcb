import { describe, expect, test } from "bun:test";
import type { CallSession } from "./call.ts";
import { CallRegistry } from "./call-registry.ts";

/** The fields the registry reads of a call. */
function call(sid: string, rx: number, tx: number): CallSession {
  return {
    callSid: sid,
    dialog: null,
    rxPackets: rx,
    rxExpected: rx + 1,
    txPackets: tx,
    latch: { foreign: 0 },
  } as unknown as CallSession;
}

describe("CallRegistry.rtpTotals", () => {
  test("calls that left keep counting, handed over or ended, and a second remove counts nothing", () => {
    const r = new CallRegistry();
    const a = call("a", 10, 20);
    const b = call("b", 1, 2);
    const c = call("c", 100, 200);
    r.add(a);
    r.add(b);
    r.add(c);
    expect(r.rtpTotals()).toEqual({ rxPackets: 111, rxExpected: 114, txPackets: 222 });
    r.remove(a, false); // handed over to another node
    r.remove(b, true);
    r.remove(b, true);
    expect(r.rtpTotals()).toEqual({ rxPackets: 111, rxExpected: 114, txPackets: 222 });
  });
});
