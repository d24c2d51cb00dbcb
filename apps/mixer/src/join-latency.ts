/**
 * How long a caller waits to be heard: from the last key of its access code to the tick
 * that first takes its audio into the meeting's mix. This is the figure the scale issue
 * sets a goal for (under 100 ms at p50); the node keeps it as a histogram for /metrics
 * and the bench.
 *
 * "The last key" is its release: a phone sends no voice while a key is down (RFC 4733
 * events replace the audio for the key's duration, 100 ms or more), so nothing of the
 * caller can be heard before it. The release is when the key's end packet arrived here;
 * where this node saw none (the key ended before the call moved here), the measure
 * starts at the key's first packet on the node that answered, carried along the
 * hand-over, which only makes it longer.
 *
 * Calls are watched from their `call.joined` until their first mixed frame; the clock
 * asks once per tick, over a short list (the calls that joined in the last few ticks),
 * so a tick without joins costs one length check.
 */
import type { CallSession } from "./call.ts";
import type { DomainEvents } from "./domain-events.ts";
import { CumulativeHistogram } from "./tick-stats.ts";

/** Upper bounds of the join-time buckets, seconds. */
export const JOIN_BUCKETS_S = [0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5] as const;

/** A caller watched this long without a mixed frame (silent phone, listener on hold) is let go. */
const GIVE_UP_MS = 10_000;

export class JoinLatency {
  /** Seconds from the code's last key to the first mixed frame, per joined call. */
  readonly histogram = new CumulativeHistogram(JOIN_BUCKETS_S);
  private readonly watched: CallSession[] = [];

  constructor(
    events: DomainEvents,
    private readonly callOf: (callSid: string) => CallSession | undefined,
    /** Told each measured join: from the release, and from the key's first packet (the node logs both). */
    private readonly measured: (call: CallSession, ms: number, fromPressMs: number) => void = () => {},
    /** Epoch ms now (a parameter for tests). */
    private readonly epochNow: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    events.on("call.joined", (e) => {
      const call = this.callOf(e.callSid);
      if (call && call.codeKeyedAt > 0) this.watched.push(call);
    });
  }

  /** After each mix: the watched calls whose audio the mix has taken are measured. */
  afterMix(): void {
    const watched = this.watched;
    if (watched.length === 0) return;
    const now = this.epochNow();
    for (let i = watched.length - 1; i >= 0; i--) {
      const call = watched[i] as CallSession;
      const waited = now - call.codeKeyedAt;
      if (call.jitter.played > 0) {
        const released = Math.max(call.keyReleasedAt, call.codeKeyedAt);
        this.histogram.observe((now - released) / 1000);
        this.measured(call, now - released, waited);
      } else if (call.state === "meeting" && waited < GIVE_UP_MS) continue;
      watched[i] = watched[watched.length - 1] as CallSession;
      watched.pop();
    }
  }

  /** Calls still waiting for their first mixed frame. */
  get pending(): number {
    return this.watched.length;
  }
}
