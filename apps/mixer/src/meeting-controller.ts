/**
 * The meetings this node mixes: callers join them, keypad commands and the API's
 * control messages change them under the same rules, and calls and meetings end here.
 * Every change is told as a domain event.
 */
import type { Log } from "@conf/log";
import type { JoinDecision, RefusalReason } from "@conf/access-router";
import { roleIn } from "@conf/call-flow";
import type { Call, ControlMessage, Meeting, ParticipantMuted, SessionStore } from "@conf/session-store";
import type { CallSession } from "./call.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { DomainEvents } from "./domain-events.ts";
import { commandsFor, type KeypadCommand, KeypadMatcher, mayUse } from "./keypad.ts";
import { logSafe } from "./log-safe.ts";
import { ENTRY_TONE, EXIT_TONE, keyClips, type LoopSource, numberClips, type PromptName } from "@conf/media";
import { MeetingRuntime, type MixGroup } from "./meeting.ts";
import type { MeetingRecording } from "./meeting-recording.ts";
import { HANGUP_GRACE_MS, type Voice } from "./voice.ts";

/** What an answered caller hears when refused, before goodbye. */
const REFUSAL_CLIP: Record<RefusalReason, PromptName> = {
  unknown_number: "wrong-code",
  no_call_flow: "try-later",
  unknown_code: "wrong-code",
  room_not_reachable: "wrong-code",
  locked: "locked",
};

/** The prompt that names each keypad command in the instructions. */
const INSTRUCTION_CLIP: Record<KeypadCommand, PromptName> = {
  self_mute: "instr-mute",
  meeting_mute: "instr-meeting-mute",
  qa: "instr-raise-hand",
  lock: "instr-lock",
  hold: "instr-hold",
  tones: "instr-tones",
  count: "instr-count",
  instructions: "instr-instructions",
  moh_next: "instr-moh",
  recording: "instr-recording",
  drop: "instr-drop",
};

export interface MeetingControllerParts {
  store: SessionStore;
  nodeId: string;
  registry: CallRegistry;
  lobby: MixGroup<CallSession>;
  moh: ReadonlyMap<string, LoopSource>;
  voice: Voice;
  recording: MeetingRecording;
  events: DomainEvents;
  /** Longest pause between the keys of one keypad command, ms. */
  keypadInterdigitMs: number;
  /** Clock for coalescing announcements, ms; default performance.now. */
  now?: () => number;
  log: Log;
  bg(p: Promise<unknown>): void;
}

export class MeetingController {
  readonly meetings = new Map<string, MeetingRuntime<CallSession>>();
  private readonly store: SessionStore;
  private readonly voice: Voice;
  private readonly events: DomainEvents;

  private readonly now: () => number;

  constructor(private readonly parts: MeetingControllerParts) {
    this.now = parts.now ?? (() => performance.now());
    this.store = parts.store;
    this.voice = parts.voice;
    this.events = parts.events;
  }

  // ---- joining ---------------------------------------------------------------------

  /** Joins an admitted caller to its meeting here (creating the meeting's mix if needed). */
  async join(call: CallSession, decision: JoinDecision): Promise<void> {
    const { log } = this.parts;
    call.beginJoin(decision);
    const result = await this.store
      .join({
        meetingKey: decision.meetingKey,
        accountSid: decision.accountSid,
        meetingRoomSid: decision.meetingRoomSid,
        nodeId: this.parts.nodeId,
        call: call.joinInput(),
      })
      .catch((err: unknown) => {
        log.warn(
          { call_sid: call.callSid, account_sid: decision.accountSid },
          `call ${call.callSid}: join failed: ${String(err)}`,
        );
        return null;
      });
    if (result === null) {
      // Redis did not answer in time: the caller is told to try later, not left in silence.
      if (call.state !== "joining") return;
      call.backToIvr();
      this.voice.say(call, ["try-later", "goodbye"], "hangup");
      return;
    }
    if (call.state !== "joining") {
      // Hung up while joining: undo.
      if (result.ok) await this.store.leave(call.callSid);
      return;
    }
    if (!result.ok) {
      call.backToIvr(); // no more codes: a locked meeting is final
      this.refuse(call, result.reason);
      return;
    }
    if (result.ownerNodeId !== this.parts.nodeId) {
      log.info(
        { meeting_sid: result.meeting.meeting_sid, account_sid: decision.accountSid },
        `meeting ${result.meeting.meeting_sid} is owned by ${result.ownerNodeId}; mixing here too`,
      );
    }
    await this.seat(call, decision, result.meeting, result.call, true);
  }

  /**
   * Seats a joining caller whose Call the store has (`stored`, in `meeting`) in the
   * meeting's mix here, creating the mix if needed. `fresh` false: a caller moved here
   * from a node that died (failover.ts); it was in the meeting already, so it is not
   * greeted and the meeting counts as started.
   */
  async seat(call: CallSession, decision: JoinDecision, meeting: Meeting, stored: Call, fresh: boolean): Promise<void> {
    const { log, bg } = this.parts;
    const result = { meeting, call: stored };
    call.mirror(result.call.muted, result.call.on_hold);
    if (call.role === "participant" && result.meeting.participant_muted !== "false" && !call.muted) {
      // The meeting mutes participants (relaxed or true): so does their Call object.
      call.mute(true);
      // The mix mutes it either way; a store that did not answer is put right by the next write.
      bg(this.store.updateCall(call.callSid, { muted: true }));
    }
    let runtime = this.meetings.get(result.meeting.meeting_sid);
    if (!runtime) {
      runtime = new MeetingRuntime<CallSession>(
        result.meeting.meeting_sid,
        decision.accountSid,
        decision.meetingRoomSid,
        decision.attributes,
        result.meeting,
        this.parts.moh,
        decision.meetingKey,
      );
      this.meetings.set(runtime.meetingSid, runtime);
      this.events.emit({ type: "meeting.started", meetingSid: runtime.meetingSid, meeting: runtime.toApi() });
    }
    // Move the caller from the lobby into the meeting's mix; its RTP clock carries on.
    call.unseat();
    const slot = runtime.mixer.addSlot({
      codec: call.media.codec,
      role: call.role,
      muted: call.muted,
      held: call.onHold || runtime.heldByMeeting(call.role),
      member: true,
      input: call.jitter,
      inbandDtmf: call.media.telephoneEventPt === null,
      send: call.media.send,
    });
    if (slot < 0) {
      log.warn(
        { call_sid: call.callSid, meeting_sid: runtime.meetingSid, account_sid: runtime.accountSid },
        `meeting ${runtime.meetingSid} is full`,
      );
      await this.hangup(call, "full");
      return;
    }
    call.enterMeeting(runtime, slot, new KeypadMatcher(decision.attributes, this.parts.keypadInterdigitMs), result.call);
    runtime.addCall(call, slot, result.meeting.locked);
    // A host anywhere in the meeting (on another node mixing it too: cascade.ts) has started it.
    if (call.role === "host" || !fresh || result.meeting.attendees.hosts > 0) {
      if (call.role === "host" && runtime.cancelStop()) runtime.mixer.overlay.clear();
      if (!runtime.started) this.startMeeting(runtime);
    }
    // The other nodes let their waiting callers in, and call off a stop after their last host left.
    if (call.role === "host" && fresh) this.tellMeeting({ type: "meeting_start", meetingSid: runtime.meetingSid });
    if (fresh) this.greet(call, runtime, decision);
    log.info(
      { call_sid: call.callSid, meeting_sid: runtime.meetingSid, account_sid: runtime.accountSid, role: call.role },
      `call ${call.callSid} joined meeting ${runtime.meetingSid} as ${call.role}`,
    );
    this.events.emit({
      type: "call.joined",
      callSid: call.callSid,
      meetingSid: runtime.meetingSid,
      call: call.toApi() ?? result.call,
    });
  }

  /** What a caller who just joined hears, and what the meeting hears of it. */
  private greet(call: CallSession, runtime: MeetingRuntime<CallSession>, decision: JoinDecision): void {
    const others = runtime.calls.size - 1;
    const attrs = decision.attributes;
    const clips: PromptName[] = [];
    if (!runtime.started) {
      // conference_start_how moderator: wait with music for a host, for a while.
      runtime.apply(call);
      this.voice.say(call, ["wait-for-host"]);
      const wait = Number(attrs.conference_start_wait) * 1000;
      call.waitForHost(
        setTimeout(() => {
          if (call.state === "meeting" && call.meeting && !call.meeting.started) this.voice.say(call, ["goodbye"], "hangup");
        }, wait),
      );
    } else if (others === 0) {
      if (attrs.conference_singlemember === "on") clips.push("only-one");
      else clips.push("first-one");
    } else if (roleIn(attrs.call_announceparticipantcount, call.role)) {
      clips.push(others === 1 ? "there-is" : "there-are", ...numberClips(others), others === 1 ? "other-person" : "other-people");
    }
    if (clips.length) this.voice.say(call, clips);
    // Every join counts towards the rate, the first caller's too; only the others hear it.
    runtime.announcements.joined(
      this.now(),
      others > 0 && runtime.entryTones ? ENTRY_TONE : null,
      others > 0 && call.name && attrs.conference_rollcall_onenter === "on"
        ? [call.name, this.voice.prompts.get("has-joined")]
        : null,
    );
  }

  /** A refused join: the reason, then goodbye. */
  refuse(call: CallSession, reason: RefusalReason): void {
    this.voice.say(call, [REFUSAL_CLIP[reason], "goodbye"], "hangup");
  }

  // ---- the keypad ------------------------------------------------------------------

  /** A key from a caller in a meeting. */
  onDigit(call: CallSession, key: string): void {
    if (call.state !== "meeting") return;
    const r = call.keypad?.feed(key, performance.now());
    if (r?.kind === "command") this.parts.bg(this.runCommand(call, r.command));
  }

  /** Sequences that end by a pause (a lone `*` bound beside `*6`) complete here. */
  pollKeypads(): void {
    const now = performance.now();
    for (const c of this.parts.registry.calls.values()) {
      if (c.state !== "meeting" || !c.keypad) continue;
      const r = c.keypad.poll(now);
      if (r.kind === "command") this.parts.bg(this.runCommand(c, r.command));
    }
  }

  /** A keypad command: checked against the caller's role, then the shared meeting rules. */
  private async runCommand(call: CallSession, command: KeypadCommand): Promise<void> {
    const runtime = call.meeting;
    if (!runtime || runtime.ended) return;
    const say = (c: CallSession, clips: PromptName[]) => this.voice.say(c, clips);
    if (!mayUse(command, call.role)) {
      say(call, [command === "self_mute" && call.role === "listener" ? "listener-only" : "host-only"]);
      return;
    }
    const store = this.store;
    switch (command) {
      case "self_mute": {
        const unmute = call.muted;
        if (unmute && call.role === "participant" && runtime.participantMuted === "true" && runtime.handSpeaking !== call) {
          say(call, ["cannot-unmute"]);
          return;
        }
        await store.updateCall(call.callSid, { muted: !call.muted });
        this.applyCallMute(call, !call.muted);
        return;
      }
      case "meeting_mute": {
        const next: ParticipantMuted = runtime.participantMuted === "false" ? "true" : "false";
        await store.updateMeeting(runtime.meetingSid, { participant_muted: next });
        await this.applyParticipantMuted(runtime, next);
        this.tellMeeting({ type: "meeting_participant_muted", meetingSid: runtime.meetingSid, participant_muted: next });
        say(call, [next === "false" ? "meeting-unmuted" : "meeting-muted"]);
        return;
      }
      case "qa": {
        if (call.role !== "host") {
          say(call, [runtime.toggleHand(call) ? "hand-raised" : "hand-lowered"]);
          return;
        }
        const prev = runtime.handSpeaking;
        if (prev && prev.state === "meeting" && runtime.participantMuted !== "false") {
          await store.updateCall(prev.callSid, { muted: true });
          this.applyCallMute(prev, true);
        }
        const next = runtime.nextHand();
        if (!next) {
          say(call, ["no-hands"]);
          return;
        }
        await store.updateCall(next.callSid, { muted: false });
        next.mute(false);
        runtime.apply(next);
        this.callUpdated(next);
        say(next, ["your-turn"]);
        return;
      }
      case "lock": {
        const locked = !runtime.locked;
        await store.updateMeeting(runtime.meetingSid, { locked });
        this.applyLock(runtime, locked);
        this.tellMeeting({ type: "meeting_lock", meetingSid: runtime.meetingSid, locked });
        say(call, [locked ? "meeting-locked" : "meeting-unlocked"]);
        return;
      }
      case "hold": {
        const onHold = runtime.onHold.includes("p") || runtime.onHold.includes("l") ? "" : "pl";
        await store.updateMeeting(runtime.meetingSid, { on_hold: onHold });
        this.applyMeetingHold(runtime, onHold);
        this.tellMeeting({ type: "meeting_on_hold", meetingSid: runtime.meetingSid, on_hold: onHold });
        say(call, [onHold ? "hold-on" : "hold-off"]);
        return;
      }
      case "tones": {
        const on = !(runtime.entryTones || runtime.exitTones);
        runtime.setTones(on);
        say(call, [on ? "tones-on" : "tones-off"]);
        return;
      }
      case "count": {
        const others = runtime.calls.size - 1;
        say(call, [
          others === 1 ? "there-is" : "there-are",
          ...numberClips(others),
          others === 1 ? "other-person" : "other-people",
        ]);
        return;
      }
      case "instructions": {
        const clips: PromptName[] = ["instructions"];
        for (const { command: c, keys } of commandsFor(runtime.attributes, call.role)) {
          clips.push(c === "qa" && call.role === "host" ? "instr-next-hand" : INSTRUCTION_CLIP[c], ...keyClips(keys));
        }
        say(call, clips);
        return;
      }
      case "moh_next": {
        const list = runtime.attributes.call_moh_list.split(",").filter((n) => this.parts.moh.has(n));
        if (list.length === 0 || call.slot < 0) return;
        const cur = runtime.mixer.mohOf(call.slot);
        const next = list[(list.indexOf(cur) + 1) % list.length] as string;
        runtime.mixer.setMoh(call.slot, next);
        return;
      }
      case "recording":
        await this.toggleRecording(runtime, call);
        return;
      case "drop":
        this.endWithGoodbye(runtime, "keypad");
        return;
    }
  }

  // ---- control from the API --------------------------------------------------------

  /** A control message for a meeting this node mixes (hand-overs go elsewhere). */
  onControl(m: Exclude<ControlMessage, { type: "handover" | "trunk" }>): void {
    if (m.type === "call_hangup" && m.meetingSid === "") {
      // A call at the access-code prompt (DELETE /calls of a call with no meeting): sent
      // to the node that answered it; if it joined meanwhile, it is hung up all the same.
      const c = this.parts.registry.calls.get(m.callSid);
      if (c) this.parts.bg(this.hangup(c, "api"));
      return;
    }
    // What this node did itself and told the other nodes of the meeting (cascade.ts).
    if ("origin" in m && m.origin === this.parts.nodeId) return;
    const runtime = this.meetings.get(m.meetingSid);
    if (!runtime) return;
    const callOf = (sid: string) => {
      const c = this.parts.registry.calls.get(sid);
      return c?.meeting === runtime ? c : undefined;
    };
    switch (m.type) {
      case "call_mute": {
        const c = callOf(m.callSid);
        if (c && c.muted !== m.muted) this.applyCallMute(c, m.muted);
        break;
      }
      case "call_hold": {
        const c = callOf(m.callSid);
        if (c) {
          c.hold(m.on_hold);
          runtime.apply(c);
          this.callUpdated(c);
        }
        break;
      }
      case "call_hangup": {
        const c = callOf(m.callSid);
        if (c) this.parts.bg(this.hangup(c, "api"));
        break;
      }
      case "meeting_participant_muted":
        this.parts.bg(this.applyParticipantMuted(runtime, m.participant_muted));
        break;
      case "meeting_on_hold":
        this.applyMeetingHold(runtime, m.on_hold);
        break;
      case "meeting_lock":
        this.applyLock(runtime, m.locked); // the store refuses new non-hosts; the mix is unchanged
        break;
      case "meeting_end":
        this.parts.bg(this.endMeeting(m.meetingSid, m.origin ? "cascade" : "api", false));
        break;
      case "meeting_start":
        if (runtime.cancelStop()) runtime.mixer.overlay.clear();
        if (!runtime.started) this.startMeeting(runtime);
        break;
    }
  }

  // ---- the meeting rules, shared by the keypad and the API ----------------------------

  /**
   * A meeting-wide change made here (keypad, rules): the other nodes mixing the meeting
   * (cascade.ts) apply it too. This node skips its own copy (`origin`).
   */
  private tellMeeting(
    m: Extract<ControlMessage, { type: "meeting_participant_muted" | "meeting_lock" | "meeting_on_hold" | "meeting_start" }>,
  ): void {
    this.parts.bg(this.store.control.sendToMeeting({ ...m, origin: this.parts.nodeId }).catch(() => null));
  }

  private callUpdated(call: CallSession): void {
    const api = call.toApi();
    if (api && call.meeting)
      this.events.emit({ type: "call.updated", callSid: call.callSid, meetingSid: call.meeting.meetingSid, call: api });
  }

  private meetingUpdated(runtime: MeetingRuntime<CallSession>): void {
    this.events.emit({ type: "meeting.updated", meetingSid: runtime.meetingSid, meeting: runtime.toApi() });
  }

  /** A call's own mute changed (by its keypad, a host or the API): mix and prompt follow. */
  private applyCallMute(call: CallSession, muted: boolean): void {
    const runtime = call.meeting;
    call.mute(muted);
    if (!runtime) return;
    runtime.apply(call);
    this.voice.say(call, [muted ? "muted" : "unmuted"]);
    this.callUpdated(call);
  }

  /** The meeting's participant_muted changed: every participant follows and is told. */
  private async applyParticipantMuted(runtime: MeetingRuntime<CallSession>, value: ParticipantMuted): Promise<void> {
    runtime.setParticipantMuted(value);
    const muted = value !== "false";
    const writes: Promise<unknown>[] = [];
    const changed: CallSession[] = [];
    for (const c of runtime.calls) {
      if (c.role !== "participant") continue;
      if (c.muted !== muted) {
        writes.push(this.store.updateCall(c.callSid, { muted }));
        changed.push(c);
      }
      c.mute(muted);
      runtime.apply(c);
      this.voice.say(c, [muted ? "meeting-muted" : "meeting-unmuted"]);
    }
    this.meetingUpdated(runtime);
    for (const c of changed) this.callUpdated(c);
    await Promise.all(writes);
  }

  private applyMeetingHold(runtime: MeetingRuntime<CallSession>, onHold: string): void {
    runtime.setOnHold(onHold);
    this.meetingUpdated(runtime);
  }

  private applyLock(runtime: MeetingRuntime<CallSession>, locked: boolean): void {
    runtime.lock(locked);
    this.meetingUpdated(runtime);
  }

  /** A host arrived for a `moderator`-start meeting: everyone waiting is let in. */
  private startMeeting(runtime: MeetingRuntime<CallSession>): void {
    runtime.start();
    for (const c of runtime.calls) c.stopWaitingForHost();
  }

  /** Starts or stops recording the meeting's mix, by `recording_method`. */
  private async toggleRecording(runtime: MeetingRuntime<CallSession>, call: CallSession): Promise<void> {
    const recording = this.parts.recording;
    if (runtime.recorder) {
      await recording.stop(runtime);
      this.voice.say(call, ["recording-stopped"]);
      return;
    }
    const rec = recording.start(runtime);
    if (!rec) return;
    const ready = await rec.ready;
    if (!ready.ok) {
      this.parts.log.warn(
        { meeting_sid: runtime.meetingSid, account_sid: runtime.accountSid },
        `recording of ${runtime.meetingSid} failed: ${logSafe(ready.error)}`,
      );
      if (runtime.recorder === rec) await recording.stop(runtime);
      this.voice.say(call, ["recording-stopped"]);
      return;
    }
    this.voice.say(call, ["recording-started"]);
  }

  // ---- ending ----------------------------------------------------------------------

  /** Ends a call from our side or after the peer's BYE: out of the mix, the store and SIP. */
  async hangup(call: CallSession, why: string): Promise<void> {
    const { log, bg } = this.parts;
    const wasIn = call.beginLeaving();
    if (wasIn === null) return;
    const runtime = call.meeting;
    runtime?.removeCall(call);
    if (why !== "remote" && why !== "cancelled" && call.dialog) bg(call.dialog.bye());
    if (call.latch.foreign > 0)
      log.info(
        { call_sid: call.callSid, meeting_sid: runtime?.meetingSid },
        `call ${call.callSid}: ${call.latch.foreign} foreign RTP packets dropped`,
      );
    this.parts.registry.remove(call, true);
    call.end();
    this.events.emit({
      type: "call.left",
      callSid: call.callSid,
      meetingSid: wasIn === "meeting" && runtime ? runtime.meetingSid : null,
      reason: why,
      call: call.toApi(),
    });
    if (wasIn === "meeting" || wasIn === "joining") {
      // Redis away: the call is gone here whatever the store says; its record goes with the
      // meeting's lease, or is never restored.
      const left = await this.store.leave(call.callSid).catch((err: unknown) => {
        log.warn(
          { call_sid: call.callSid, meeting_sid: runtime?.meetingSid },
          `call ${call.callSid}: could not leave the store: ${String(err)}`,
        );
        return null;
      });
      if (runtime && !runtime.ended) {
        if (left?.ended || runtime.calls.size === 0) this.disposeMeeting(runtime, "empty");
        else {
          runtime.announcements.left(
            this.now(),
            runtime.exitTones ? EXIT_TONE : null,
            call.name && runtime.attributes.conference_rollcall_onexit === "on"
              ? [call.name, this.voice.prompts.get("has-left")]
              : null,
          );
          // The store counts the hosts of the whole meeting, those other nodes mix included.
          if (call.role === "host" && runtime.hosts() === 0 && (left?.meeting.attendees.hosts ?? 0) === 0)
            this.lastHostLeft(runtime);
        }
      }
    }
    log.info(
      { call_sid: call.callSid, meeting_sid: runtime?.meetingSid, account_sid: runtime?.accountSid, reason: why },
      `call ${call.callSid} ended (${why})`,
    );
  }

  /** `conference_stop_how` `moderator`: the others are told, then dropped after the wait. */
  private lastHostLeft(runtime: MeetingRuntime<CallSession>): void {
    if (runtime.ending) return;
    const a = runtime.attributes;
    if (a.recording_stop_how === "moderator") this.parts.bg(this.parts.recording.stop(runtime));
    if (a.conference_stop_how !== "moderator" || runtime.stopPending) return;
    const wait = Number(a.conference_stop_wait);
    // Said to each caller, not into the mix: a caller left alone hears music, not the mix.
    const warning: PromptName[] = ["host-left", "meeting-ending", ...numberClips(wait), "seconds"];
    for (const c of runtime.calls) this.voice.say(c, warning);
    // The goodbye clears what is playing, so it waits for the whole warning.
    const ms = Math.max(wait * 1000, this.voice.clipsMs(warning) + HANGUP_GRACE_MS);
    runtime.scheduleStop(ms, () => {
      if (runtime.ended || runtime.hosts() > 0) return;
      this.endWithGoodbye(runtime, "moderator-stop");
    });
  }

  /**
   * Ends a meeting for everyone after a goodbye: whatever a caller was hearing stops,
   * all hear "meeting ended, goodbye", then the meeting ends on a timer, so it ends even
   * if the caller who asked for it hangs up meanwhile.
   */
  private endWithGoodbye(runtime: MeetingRuntime<CallSession>, why: string): void {
    if (!runtime.beginEnding()) return;
    const clips: PromptName[] = ["meeting-ended", "goodbye"];
    for (const c of runtime.calls) {
      if (c.slot < 0) continue;
      runtime.mixer.prompt(c.slot).clear();
      this.voice.say(c, clips);
    }
    setTimeout(() => this.parts.bg(this.endMeeting(runtime.meetingSid, why)), this.voice.clipsMs(clips) + HANGUP_GRACE_MS);
  }

  private disposeMeeting(runtime: MeetingRuntime<CallSession>, why: string): void {
    runtime.dispose();
    this.parts.bg(this.parts.recording.stop(runtime));
    this.meetings.delete(runtime.meetingSid);
    this.events.emit({ type: "meeting.ended", meetingSid: runtime.meetingSid, reason: why });
  }

  /**
   * Ends a whole meeting: every caller is hung up with BYE, then the objects are gone.
   * `tell`: the other nodes mixing it end it too (false when they told us).
   */
  async endMeeting(meetingSid: string, why: string, tell = true): Promise<void> {
    if (tell)
      await this.store.control.sendToMeeting({ type: "meeting_end", meetingSid, origin: this.parts.nodeId }).catch(() => null);
    const runtime = this.meetings.get(meetingSid);
    if (runtime) {
      this.disposeMeeting(runtime, why);
      await Promise.all([...runtime.calls].map((c) => this.hangup(c, why)));
    }
    await this.store.endMeeting(meetingSid);
  }
}
