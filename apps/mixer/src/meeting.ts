/**
 * A running meeting on this node: its mixer, which call sits in which slot, and the
 * meeting-level state the mixer needs (participant_muted, on_hold, tones).
 */
import type { Attributes, Role } from "@conf/call-flow";
import { ROLE_LETTER } from "@conf/call-flow";
import type { Meeting, ParticipantMuted } from "@conf/session-store";
import { ConferenceMixer } from "./media/index.ts";
import type { LoopSource } from "./media/index.ts";
import type { Recorder } from "./recording/index.ts";

/**
 * What a group needs of a call in one of its slots. The call type is a parameter, so
 * this file does not import call.ts (which names the groups a call sits in).
 */
export interface MixMember {
  readonly slot: number;
  readonly role: Role;
  readonly muted: boolean;
  readonly onHold: boolean;
  sendFrame(arena: Uint8Array, offset: number, length: number): void;
}

/** One mixer and the calls in its slots; the lobby (IVR) is one too, with no meeting. */
export class MixGroup<C extends MixMember = MixMember> {
  readonly mixer: ConferenceMixer;
  /** Call in each slot (index = slot). */
  slotCalls: (C | null)[] = [];

  constructor(mixer: ConferenceMixer) {
    this.mixer = mixer;
  }

  add(call: C, slot: number): void {
    while (this.slotCalls.length <= slot) this.slotCalls.push(null);
    this.slotCalls[slot] = call;
  }

  remove(slot: number): void {
    if (slot >= 0 && slot < this.slotCalls.length) this.slotCalls[slot] = null;
    this.mixer.removeSlot(slot);
  }

  /** This frame's packets: the slots mixed and their calls, sent over the phases. */
  private sendSlots = new Int32Array(64);
  private sendCalls: (C | null)[] = new Array<C | null>(64).fill(null);
  sendCount = 0;

  /** Right after `mixer.tick()`: which calls this frame's packets are for. */
  takeSendList(): void {
    const mixer = this.mixer;
    const n = mixer.activeCount;
    if (n > this.sendSlots.length) {
      // Grows with the meeting, by doubling: rare, and never on the per-frame path after.
      let size = this.sendSlots.length;
      while (size < n) size *= 2;
      this.sendSlots = new Int32Array(size);
      this.sendCalls = new Array<C | null>(size).fill(null);
    }
    const list = mixer.activeList;
    for (let i = 0; i < n; i++) {
      const s = list[i] as number;
      this.sendSlots[i] = s;
      this.sendCalls[i] = this.slotCalls[s] ?? null;
    }
    for (let i = n; i < this.sendCount; i++) this.sendCalls[i] = null;
    this.sendCount = n;
  }

  /**
   * Sends the packets of the slots in `phase` (slot mod phases): a call that left, or
   * whose slot was taken by another since the mix, is skipped.
   */
  sendPhase(phase: number, phases: number): void {
    const mixer = this.mixer;
    const arena = mixer.arena;
    for (let i = 0; i < this.sendCount; i++) {
      const s = this.sendSlots[i] as number;
      if (s % phases !== phase) continue;
      const call = this.sendCalls[i];
      if (call && this.slotCalls[s] === call) call.sendFrame(arena, mixer.outOffset[s] as number, mixer.outLength[s] as number);
    }
  }
}

export class MeetingRuntime<C extends MixMember = MixMember> extends MixGroup<C> {
  readonly calls = new Set<C>();
  participantMuted: ParticipantMuted;
  onHold: string;
  entryTones: boolean;
  exitTones: boolean;
  locked = false;
  /** Goodbyes are playing; the meeting ends when they are done, whoever hangs up. */
  ending = false;
  ended = false;
  /** Raised hands, oldest first (question queue). */
  hands: C[] = [];
  /** The participant the host let speak from the queue. */
  handSpeaking: C | null = null;
  /** Whether a host has joined (for `conference_start_how` `moderator`). */
  started: boolean;
  /** Pending `conference_stop_how` `moderator` end, after the last host left. */
  stopTimer: ReturnType<typeof setTimeout> | null = null;
  /** The running recording, if any. */
  recorder: Recorder | null = null;
  /** When the meeting started (ISO 8601), kept to write it back if the store loses it. */
  readonly dateCreated: string;

  constructor(
    readonly meetingSid: string,
    readonly accountSid: string,
    readonly meetingRoomSid: string | null,
    readonly attributes: Attributes,
    meeting: Meeting,
    mohSources: ReadonlyMap<string, LoopSource>,
  ) {
    super(
      new ConferenceMixer({
        mohSources,
        defaultMoh: attributes.conference_moh,
        mohEnabled: attributes.conference_moh_enabled === "on",
      }),
    );
    this.dateCreated = meeting.date_created;
    this.participantMuted = meeting.participant_muted;
    this.onHold = meeting.on_hold;
    this.locked = meeting.locked;
    this.started = attributes.conference_start_how !== "moderator";
    this.entryTones = attributes.conference_entrytones === "on";
    this.exitTones = attributes.conference_exittones === "on";
  }

  /** Whether the meeting's state mutes a caller of `role` (hosts never; listeners always). */
  mutedByMeeting(role: Role): boolean {
    if (role === "host") return false;
    if (role === "listener") return true;
    return this.participantMuted !== "false";
  }

  heldByMeeting(role: Role): boolean {
    return this.onHold.includes(ROLE_LETTER[role]);
  }

  /** Re-applies mute, hold and waiting of one call to its slot. */
  apply(call: C): void {
    if (call.slot < 0) return;
    this.mixer.setMuted(call.slot, call.muted);
    this.mixer.setHeld(call.slot, call.onHold || this.heldByMeeting(call.role));
    this.mixer.setWaiting(call.slot, !this.started && call.role !== "host");
  }

  hosts(): number {
    let n = 0;
    for (const c of this.calls) if (c.role === "host") n++;
    return n;
  }

}
