/**
 * What the whole meeting hears when callers come and go (entry and exit tones, roll-call
 * names), coalesced: a join storm once queued a tone per joiner, and 1,000 joins made
 * everyone hear 17 s of back-to-back beeps. Now at most one of each kind waits in the
 * meeting's overlay, and while callers arrive (or leave) faster than `burst` per
 * `windowMs` nothing more is queued for them until the rate drops.
 */
import type { PromptPlayer } from "@conf/media";

export type AnnouncementKind = "entry-tone" | "exit-tone" | "enter-name" | "exit-name";

/** Arrivals (or departures) per window past which they go unannounced. */
export const ANNOUNCE_BURST = 3;
export const ANNOUNCE_WINDOW_MS = 1000;

/** The last few arrival (or departure) times: are they coming faster than the burst allows? */
class RateWindow {
  private readonly times: Float64Array;
  private next = 0;
  private seen = 0;

  constructor(
    private readonly burst: number,
    private readonly windowMs: number,
  ) {
    this.times = new Float64Array(burst + 1);
  }

  /** Counts one at `now`; true when it is one too many for the window. */
  hit(now: number): boolean {
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.times.length;
    this.seen++;
    // The oldest of the last burst+1 is where `next` points now.
    return this.seen > this.burst && now - (this.times[this.next] as number) < this.windowMs;
  }
}

export class MeetingAnnouncements {
  /** The overlay item number of each kind's last announcement (0: none). */
  private readonly last = new Map<AnnouncementKind, number>();
  private readonly joins: RateWindow;
  private readonly leaves: RateWindow;
  /** How many announcements were left out, for tests and logs. */
  skipped = 0;

  constructor(
    private readonly overlay: PromptPlayer,
    burst = ANNOUNCE_BURST,
    windowMs = ANNOUNCE_WINDOW_MS,
  ) {
    this.joins = new RateWindow(burst, windowMs);
    this.leaves = new RateWindow(burst, windowMs);
  }

  /**
   * A caller joined at `now` (ms): `tone` (null: tones off) and `name` (the clips that
   * say it; null: no roll call) are queued unless coalesced.
   */
  joined(now: number, tone: Int16Array | null, name: readonly Int16Array[] | null): void {
    const storm = this.joins.hit(now);
    if (tone) this.queue("entry-tone", [tone], storm);
    if (name) this.queue("enter-name", name, storm);
  }

  /** A caller left at `now` (ms); as `joined`. */
  left(now: number, tone: Int16Array | null, name: readonly Int16Array[] | null): void {
    const storm = this.leaves.hit(now);
    if (tone) this.queue("exit-tone", [tone], storm);
    if (name) this.queue("exit-name", name, storm);
  }

  private queue(kind: AnnouncementKind, clips: readonly Int16Array[], storm: boolean): void {
    const overlay = this.overlay;
    if (storm || overlay.waiting(this.last.get(kind) ?? 0)) {
      this.skipped++;
      return;
    }
    const before = overlay.queuedTotal;
    if (!overlay.enqueueAll(clips)) {
      this.skipped++;
      return;
    }
    this.last.set(kind, overlay.queuedTotal > before ? before + 1 : 0);
  }
}
