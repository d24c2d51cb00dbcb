/**
 * The node's 20 ms clock: mixes the lobby and every meeting, sends the packets, hands
 * the mixers' events (in-band digits, finished prompts) on, and tells who started or
 * stopped talking. This is the per-frame path: it allocates nothing per tick, and
 * builds a talker event only when the talkers change.
 */
import type { CallSession } from "./call.ts";
import type { DomainEvents } from "./domain-events.ts";
import { dtmfKey, MIXER_EVENT_DIGIT, MIXER_EVENT_PROMPT_DONE } from "@conf/media";
import type { MeetingRuntime, MixGroup } from "./meeting.ts";
import type { TickStats } from "./tick-stats.ts";

export const FRAME_MS = 20;

export interface MixClockParts {
  lobby: MixGroup<CallSession>;
  meetings: ReadonlyMap<string, MeetingRuntime<CallSession>>;
  /** Sends what the phases queued (batched sends of shared sockets). */
  flush(): void;
  /** Hands the packets waiting on batched sockets to their calls (before each mix). */
  receive?(): void;
  /** After every group is mixed (join timing). */
  afterMix?(): void;
  /** Whether any call is up (an idle node wakes once a frame, not once a phase). */
  idle(): boolean;
  sendPhases: number;
  tickStats: TickStats;
  events: DomainEvents;
  /** An in-band DTMF digit the mixer heard from a caller. */
  onDigit(call: CallSession, key: string): void;
  /** A caller's prompt queue finished. */
  onPromptDone(call: CallSession): void;
}

export class MixClock {
  /** Node clock in ms, read once per frame. */
  now = performance.now();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextTick = 0;
  private phase = 0;
  private running = false;

  constructor(private readonly parts: MixClockParts) {}

  start(): void {
    this.running = true;
    this.nextTick = performance.now() + FRAME_MS;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Drift-corrected clock of `sendPhases` sub-ticks per 20 ms frame, scheduled against
   * absolute times. Phase 0 mixes every group; each phase then sends the packets of its
   * share of the slots (slot mod phases, so a call keeps its phase and its packets still
   * leave every 20 ms). Sending is the expensive part (a system call, and on loopback
   * the receiver's work too): one frame's 1000 packets hold the event loop for ~6 ms,
   * which phases would split; on this machine the extra wake-ups cost more than that
   * bought, so the default is one phase (MIXER_SEND_PHASES).
   */
  private schedule(): void {
    const delay = Math.max(0, this.nextTick - performance.now());
    this.timer = setTimeout(this.onTimer, delay);
  }

  /** Bound once: scheduling it every frame allocates no closure. */
  private readonly onTimer = (): void => {
    if (!this.running) return;
    const phases = this.parts.sendPhases;
    const stats = this.parts.tickStats;
    const t = performance.now();
    if (t >= this.nextTick) {
      stats.late.add(t - this.nextTick);
      stats.lateness.observe((t - this.nextTick) / 1000);
      // After a long stall (GC, debugger), do not burst: resume from now.
      if (t - this.nextTick > 200) this.nextTick = t;
      while (this.nextTick <= t) {
        this.subTick(this.phase);
        this.phase = this.phase + 1 === phases ? 0 : this.phase + 1;
        this.nextTick += FRAME_MS / phases;
      }
      stats.work.add(performance.now() - t);
      if (this.parts.idle() && this.phase !== 0) {
        this.nextTick += (phases - this.phase) * (FRAME_MS / phases);
        this.phase = 0;
      }
    }
    this.schedule();
  };

  private subTick(phase: number): void {
    const { lobby, meetings, sendPhases } = this.parts;
    if (phase === 0) {
      this.parts.receive?.();
      this.now = performance.now();
      this.mixGroup(lobby);
      for (const m of meetings.values()) {
        this.mixGroup(m);
        m.noteTalkers(this.parts.events);
      }
      this.parts.afterMix?.();
    }
    lobby.sendPhase(phase, sendPhases);
    for (const m of meetings.values()) m.sendPhase(phase, sendPhases);
    this.parts.flush();
  }

  private mixGroup(group: MixGroup<CallSession>): void {
    const mixer = group.mixer;
    if (mixer.activeCount === 0) {
      group.sendNothing();
      return;
    }
    mixer.tick();
    group.takeSendList();
    const calls = group.slotCalls;
    for (let e = 0; e < mixer.eventCount; e++) {
      const call = calls[mixer.eventSlot[e] as number];
      if (!call) continue;
      const kind = mixer.eventKind[e];
      if (kind === MIXER_EVENT_DIGIT) this.parts.onDigit(call, dtmfKey(mixer.eventValue[e] as number));
      else if (kind === MIXER_EVENT_PROMPT_DONE) this.parts.onPromptDone(call);
    }
  }
}
