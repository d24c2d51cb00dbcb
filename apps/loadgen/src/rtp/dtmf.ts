/**
 * RFC 4733 telephone-event sender, as a plan of what to send on each 20 ms tick.
 *
 * Per digit: the first packet has the marker bit, every packet of the event carries the
 * timestamp of the event's start and a duration growing by one packet time, and the
 * final packet (E bit) is sent three times (new sequence numbers, same timestamp and
 * duration), as RFC 4733 2.5.1.4 recommends. Between digits the stream carries audio.
 */

/** Event code of a keypad character (RFC 4733 3.2), or undefined. */
export function dtmfEventCode(ch: string): number | undefined {
  if (ch >= "0" && ch <= "9") return ch.charCodeAt(0) - 48;
  switch (ch.toUpperCase()) {
    case "*":
      return 10;
    case "#":
      return 11;
    case "A":
      return 12;
    case "B":
      return 13;
    case "C":
      return 14;
    case "D":
      return 15;
    default:
      return undefined;
  }
}

/** One telephone-event packet to send. */
export interface DtmfPacket {
  event: number;
  end: boolean;
  marker: boolean;
  /** Duration in timestamp units since the event started. */
  duration: number;
  /** Tick (from the plan's start) whose RTP timestamp the event carries. */
  startTick: number;
  volume: number;
}

/** Per tick: packets to send instead of audio, or null for an audio tick. */
export type DtmfPlan = (DtmfPacket[] | null)[];

export interface DtmfOptions {
  /** Tone length per digit, ms (default 100). */
  digitMs?: number;
  /** Pause after each digit, ms (default 50). */
  gapMs?: number;
  /** Packet time, ms (default 20). */
  ptimeMs?: number;
  /** Clock rate (default 8000). */
  rate?: number;
  /** Power level, 0..63 meaning -dBm0 (default 10). */
  volume?: number;
  /** Times the end packet is sent (default 3). */
  endRepeats?: number;
}

export type DtmfPlanResult = { ok: true; plan: DtmfPlan } | { ok: false; error: string };

/** Plan the ticks that key `digits`. */
export function planDtmf(digits: string, opts: DtmfOptions = {}): DtmfPlanResult {
  const ptime = opts.ptimeMs ?? 20;
  const rate = opts.rate ?? 8000;
  const perTick = (rate * ptime) / 1000;
  const digitTicks = Math.max(1, Math.round((opts.digitMs ?? 100) / ptime));
  const gapTicks = Math.ceil((opts.gapMs ?? 50) / ptime);
  const volume = opts.volume ?? 10;
  const endRepeats = Math.max(1, opts.endRepeats ?? 3);
  const plan: DtmfPlan = [];
  for (const ch of digits) {
    const event = dtmfEventCode(ch);
    if (event === undefined) return { ok: false, error: `not a keypad character: ${JSON.stringify(ch)}` };
    const startTick = plan.length;
    for (let i = 0; i < digitTicks; i++) {
      const last = i === digitTicks - 1;
      const packet: DtmfPacket = {
        event,
        end: last,
        marker: i === 0,
        duration: (i + 1) * perTick,
        startTick,
        volume,
      };
      plan.push(last ? Array.from({ length: endRepeats }, () => ({ ...packet })) : [packet]);
    }
    for (let i = 0; i < gapTicks; i++) plan.push(null);
  }
  return { ok: true, plan };
}

/** Write the 4-byte telephone-event payload at `off`. */
export function writeDtmfPayload(buf: Uint8Array, off: number, p: DtmfPacket): void {
  buf[off] = p.event & 0xff;
  buf[off + 1] = (p.end ? 0x80 : 0) | (p.volume & 0x3f);
  buf[off + 2] = (p.duration >>> 8) & 0xff;
  buf[off + 3] = p.duration & 0xff;
}
