/**
 * A caller keying its access code by RFC 4733, tick by tick: 100 ms of events per key
 * (5 ticks of 20 ms: the first packet with the marker, the duration growing by one
 * packet time, the last tick's end packet sent three times as RFC 4733 2.5.1.4
 * recommends), then 50 ms (3 ticks) of audio before the next key. The packets are the
 * shared `DtmfSender`'s (@conf/media); this only lays them out on the generator's clock.
 */
import { DtmfSender, dtmfEvent } from "@conf/media";

/** Ticks of events per key (100 ms). */
export const DIGIT_TICKS = 5;
/** Ticks of audio after each key (50 ms). */
export const DIGIT_GAP_TICKS = 3;
/** Ticks per key, events and gap. */
export const DIGIT_PERIOD = DIGIT_TICKS + DIGIT_GAP_TICKS;
/** Copies of the end packet. */
export const END_PACKETS = 3;

/** Why `digits` cannot be keyed, or null. */
export function codeError(digits: string): string | null {
  for (const ch of digits) if (ch.length !== 1 || dtmfEvent(ch) < 0) return `not a keypad character: ${JSON.stringify(ch)}`;
  return null;
}

/** The telephone-event packets of one code (check it with `codeError` first). */
export class CodeSender {
  /** Ticks the code takes, the gap after the last key included. */
  readonly ticks: number;
  /** Step of the first tick of the last key's event. */
  readonly lastKeyTick: number;
  /** Marker bit of each packet written by the last `step`. */
  readonly markers: boolean[] = new Array<boolean>(END_PACKETS).fill(false);
  private readonly dtmf = new DtmfSender({ endRepeats: END_PACKETS });

  constructor(private readonly digits: string) {
    this.ticks = digits.length * DIGIT_PERIOD;
    this.lastKeyTick = (digits.length - 1) * DIGIT_PERIOD;
  }

  /** RTP timestamp of the current key's packets (that of its first tick). */
  get eventTimestamp(): number {
    return this.dtmf.eventTimestamp;
  }

  /**
   * Writes step `step`'s payloads (4 bytes each) at `off` in `bufs[0..]` and returns how
   * many; 0 means an audio tick. `timestamp` is this tick's RTP timestamp.
   */
  step(step: number, timestamp: number, bufs: readonly Uint8Array[], off: number): number {
    if (step < 0 || step >= this.ticks) return 0;
    const within = step % DIGIT_PERIOD;
    if (within >= DIGIT_TICKS) return 0;
    if (within === 0) this.dtmf.start(this.digits[(step - within) / DIGIT_PERIOD] as string, DIGIT_TICKS * 20, timestamp);
    const want = within === DIGIT_TICKS - 1 ? Math.min(END_PACKETS, bufs.length) : 1;
    let n = 0;
    while (n < want && this.dtmf.next(bufs[n] as Uint8Array, off) > 0) this.markers[n++] = this.dtmf.marker;
    return n;
  }
}
