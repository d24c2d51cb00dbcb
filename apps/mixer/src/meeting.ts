/**
 * A running meeting on this node: its mixer, which call sits in which slot, and the
 * meeting-level state the mixer needs (participant_muted, on_hold, tones).
 */
import type { Attributes, Role } from "@conf/call-flow";
import { ROLE_LETTER } from "@conf/call-flow";
import type { Meeting, ParticipantMuted } from "@conf/session-store";
import { ConferenceMixer } from "@conf/media";
import type { LoopSource } from "@conf/media";
import { MeetingAnnouncements } from "./announcements.ts";
import type { DomainEvents } from "./domain-events.ts";
import type { Recorder } from "./recording/index.ts";

/**
 * What a group needs of a call in one of its slots. The call type is a parameter, so
 * this file does not import call.ts (which names the groups a call sits in).
 */
export interface MixMember {
  readonly callSid: string;
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

  /** Nothing was mixed this frame (nobody is in the group): nothing to send. */
  sendNothing(): void {
    this.sendCount = 0;
  }

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
  /** Entry and exit tones and roll-call names, coalesced in the meeting's overlay. */
  readonly announcements = new MeetingAnnouncements(this.mixer.overlay);
  private _participantMuted: ParticipantMuted;
  private _onHold: string;
  private _entryTones: boolean;
  private _exitTones: boolean;
  private _locked: boolean;
  private _recording = false;
  /** Goodbyes are playing; the meeting ends when they are done, whoever hangs up. */
  private _ending = false;
  private _ended = false;
  /** Raised hands, oldest first (question queue). */
  private hands: C[] = [];
  /** The participant the host let speak from the queue. */
  private _handSpeaking: C | null = null;
  /** Whether a host has joined (for `conference_start_how` `moderator`). */
  private _started: boolean;
  /** Pending `conference_stop_how` `moderator` end, after the last host left. */
  private stopTimer: ReturnType<typeof setTimeout> | null = null;
  /** The running recording, if any. */
  private _recorder: Recorder | null = null;
  /** When the meeting started (ISO 8601), kept to write it back if the store loses it. */
  readonly dateCreated: string;
  /** The Meeting object the store made, as of the first join here. */
  private readonly stored: Meeting;
  /**
   * The callers mixed as talkers in the last tick and how many, for talker events: kept
   * by the clock, preallocated so that comparing ticks allocates nothing.
   */
  private readonly lastTalkers: (C | null)[];
  private lastTalkerCount = 0;

  constructor(
    readonly meetingSid: string,
    readonly accountSid: string,
    readonly meetingRoomSid: string | null,
    readonly attributes: Attributes,
    meeting: Meeting,
    mohSources: ReadonlyMap<string, LoopSource>,
    /** The key the router chose for the meeting (room or ad-hoc code); what a restore writes back. */
    readonly meetingKey = "",
  ) {
    super(
      new ConferenceMixer({
        mohSources,
        defaultMoh: attributes.conference_moh,
        mohEnabled: attributes.conference_moh_enabled === "on",
      }),
    );
    this.stored = meeting;
    this.dateCreated = meeting.date_created;
    this._participantMuted = meeting.participant_muted;
    this._onHold = meeting.on_hold;
    this._locked = meeting.locked;
    this._started = attributes.conference_start_how !== "moderator";
    this._entryTones = attributes.conference_entrytones === "on";
    this._exitTones = attributes.conference_exittones === "on";
    this.lastTalkers = new Array<C | null>(this.mixer.talkers.length).fill(null);
  }

  get participantMuted(): ParticipantMuted {
    return this._participantMuted;
  }
  get onHold(): string {
    return this._onHold;
  }
  get entryTones(): boolean {
    return this._entryTones;
  }
  get exitTones(): boolean {
    return this._exitTones;
  }
  get locked(): boolean {
    return this._locked;
  }
  get ending(): boolean {
    return this._ending;
  }
  get ended(): boolean {
    return this._ended;
  }
  get handSpeaking(): C | null {
    return this._handSpeaking;
  }
  get started(): boolean {
    return this._started;
  }
  get recorder(): Recorder | null {
    return this._recorder;
  }

  /** The meeting as the API shows it, with the state the mix has now. */
  toApi(): Meeting {
    return {
      ...this.stored,
      locked: this._locked,
      on_hold: this._onHold,
      participant_muted: this._participantMuted,
      recording: this._recording,
    };
  }

  /** Whether the meeting's state mutes a caller of `role` (hosts never; listeners always). */
  mutedByMeeting(role: Role): boolean {
    if (role === "host") return false;
    if (role === "listener") return true;
    return this._participantMuted !== "false";
  }

  heldByMeeting(role: Role): boolean {
    return this._onHold.includes(ROLE_LETTER[role]);
  }

  /** Re-applies mute, hold and waiting of one call to its slot. */
  apply(call: C): void {
    if (call.slot < 0) return;
    this.mixer.setMuted(call.slot, call.muted);
    this.mixer.setHeld(call.slot, call.onHold || this.heldByMeeting(call.role));
    this.mixer.setWaiting(call.slot, !this._started && call.role !== "host");
  }

  hosts(): number {
    let n = 0;
    for (const c of this.calls) if (c.role === "host") n++;
    return n;
  }

  /** A call joined at `slot` of the mix. */
  addCall(call: C, slot: number, locked: boolean): void {
    this.add(call, slot);
    this.calls.add(call);
    this._locked = locked;
  }

  /** A call left: out of the meeting and its question queue. */
  removeCall(call: C): void {
    this.calls.delete(call);
    const h = this.hands.indexOf(call);
    if (h >= 0) this.hands.splice(h, 1);
    if (this._handSpeaking === call) this._handSpeaking = null;
  }

  lock(locked: boolean): void {
    this._locked = locked;
  }

  /** Sets participant_muted; unmuting everyone also empties the question queue. */
  setParticipantMuted(value: ParticipantMuted): void {
    this._participantMuted = value;
    if (value === "false") {
      this.hands = [];
      this._handSpeaking = null;
    }
  }

  /** Sets the meeting's hold (role letters) and applies it to every call. */
  setOnHold(onHold: string): void {
    this._onHold = onHold;
    for (const c of this.calls) this.apply(c);
  }

  setTones(on: boolean): void {
    this._entryTones = on;
    this._exitTones = on;
  }

  /** Raises the caller's hand, or lowers it if raised; whether it is raised now. */
  toggleHand(call: C): boolean {
    const i = this.hands.indexOf(call);
    if (i >= 0) {
      this.hands.splice(i, 1);
      return false;
    }
    this.hands.push(call);
    return true;
  }

  /** The next raised hand gets the floor (null: none is raised, nobody has it). */
  nextHand(): C | null {
    this._handSpeaking = this.hands.shift() ?? null;
    return this._handSpeaking;
  }

  /** A host arrived: nobody waits any more. */
  start(): void {
    this._started = true;
    for (const c of this.calls) this.apply(c);
  }

  /** Calls off a pending moderator stop; whether one was pending. */
  cancelStop(): boolean {
    if (!this.stopTimer) return false;
    clearTimeout(this.stopTimer);
    this.stopTimer = null;
    return true;
  }

  get stopPending(): boolean {
    return this.stopTimer !== null;
  }

  /** Runs `end` after `ms` unless called off (the last host left). */
  scheduleStop(ms: number, end: () => void): void {
    this.cancelStop();
    this.stopTimer = setTimeout(() => {
      this.stopTimer = null;
      end();
    }, ms);
  }

  /** Starts the goodbyes; false when the meeting is already ending. */
  beginEnding(): boolean {
    if (this._ending || this._ended) return false;
    this._ending = true;
    this.cancelStop();
    this.mixer.overlay.clear();
    return true;
  }

  /** Over: nothing is scheduled any more. */
  dispose(): void {
    this._ended = true;
    this.cancelStop();
    // Frees the mix's native codec states (Opus); the meeting is no longer ticked.
    this.mixer.close();
  }

  /** The mix goes to `rec` from now on. */
  attachRecorder(rec: Recorder): void {
    this._recorder = rec;
    this._recording = true;
    this.mixer.recordTap = (mix) => rec.write(mix);
  }

  detachRecorder(): void {
    this._recorder = null;
    this._recording = false;
    this.mixer.recordTap = null;
  }

  /**
   * Compares this tick's talkers with the last tick's (by call, so a slot that changed
   * hands is two callers) and tells the changes: called by the clock after each tick,
   * it builds an event only on a change. At most `maxTalkers` squared steps.
   */
  noteTalkers(events: DomainEvents): void {
    const mixer = this.mixer;
    const slots = mixer.talkers;
    // An empty meeting is not ticked: its talkers of the last tick stopped.
    const n = mixer.activeCount === 0 ? 0 : mixer.talkerCount;
    const last = this.lastTalkers;
    const lastCount = this.lastTalkerCount;
    if (n === 0 && lastCount === 0) return;
    const calls = this.slotCalls;
    for (let j = 0; j < lastCount; j++) {
      const was = last[j] as C;
      let still = false;
      for (let i = 0; i < n; i++) if (calls[slots[i] as number] === was) still = true;
      if (!still) events.emit({ type: "talker.stopped", meetingSid: this.meetingSid, callSid: was.callSid });
    }
    for (let i = 0; i < n; i++) {
      const c = calls[slots[i] as number];
      if (!c) continue;
      let before = false;
      for (let j = 0; j < lastCount; j++) if (last[j] === c) before = true;
      if (!before) events.emit({ type: "talker.started", meetingSid: this.meetingSid, callSid: c.callSid });
    }
    let k = 0;
    for (let i = 0; i < n; i++) {
      const c = calls[slots[i] as number];
      if (c) last[k++] = c;
    }
    for (let j = k; j < lastCount; j++) last[j] = null;
    this.lastTalkerCount = k;
  }
}
