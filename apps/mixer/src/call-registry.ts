/**
 * The calls on this node, by call sid and by SIP dialog, and the RTP counts of the calls
 * that ended here (a handed-over call counts where it ended).
 */
import type { CallSession } from "./call.ts";

export class CallRegistry {
  readonly calls = new Map<string, CallSession>();
  private readonly byDialog = new Map<string, CallSession>();
  private rxEndedExpected = 0;
  private rxEndedPackets = 0;
  /** Packets of ended calls dropped as not from their caller. */
  private rxEndedForeign = 0;
  /** RTP counts of every call gone from here, handed-over ones too: metrics' counters never go down. */
  private readonly gone = { rxPackets: 0, rxExpected: 0, txPackets: 0 };

  get size(): number {
    return this.calls.size;
  }

  /** An answered call (its dialog set). */
  add(call: CallSession): void {
    this.calls.set(call.callSid, call);
    if (call.dialog) this.byDialog.set(call.dialog.id, call);
  }

  ofDialog(dialogId: string): CallSession | undefined {
    return this.byDialog.get(dialogId);
  }

  /** The call is gone from here; `ended`: its RTP counts go to the node's totals. */
  remove(call: CallSession, ended: boolean): void {
    if (this.calls.get(call.callSid) === call) {
      this.gone.rxPackets += call.rxPackets;
      this.gone.rxExpected += call.rxExpected;
      this.gone.txPackets += call.txPackets;
    }
    if (ended) {
      this.rxEndedExpected += call.rxExpected;
      this.rxEndedPackets += call.rxPackets;
      this.rxEndedForeign += call.latch.foreign;
    }
    this.calls.delete(call.callSid);
    if (call.dialog) this.byDialog.delete(call.dialog.id);
  }

  /**
   * RTP received from callers since the node started, ended calls included: what the
   * callers' sequence numbers say they sent against what arrived (loss towards us).
   */
  rxSummary(foreignDroppedBySockets: number): string {
    let expected = this.rxEndedExpected;
    let received = this.rxEndedPackets;
    for (const c of this.calls.values()) {
      expected += c.rxExpected;
      received += c.rxPackets;
    }
    let foreign = this.rxEndedForeign + foreignDroppedBySockets;
    for (const c of this.calls.values()) foreign += c.latch.foreign;
    const lost = Math.max(0, expected - received);
    const pct = expected > 0 ? (100 * lost) / expected : 0;
    return `rx totals: ${received} packets of ${expected} expected, ${lost} lost (${pct.toFixed(3)}%), ${foreign} foreign packets dropped`;
  }

  /** RTP packets since the node started, every call that was here included (read at scrape time). */
  rtpTotals(): { rxPackets: number; rxExpected: number; txPackets: number } {
    const t = { ...this.gone };
    for (const c of this.calls.values()) {
      t.rxPackets += c.rxPackets;
      t.rxExpected += c.rxExpected;
      t.txPackets += c.txPackets;
    }
    return t;
  }
}
