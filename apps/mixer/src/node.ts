/**
 * A mixer node: takes SIP calls, runs the IVR that admits them, mixes every meeting it
 * owns on one 20 ms clock, and applies control messages from the API.
 */
import {
  type AccessRouter,
  type JoinDecision,
  MAX_CODE_ATTEMPTS,
  refusalResponse,
  type RefusalReason,
} from "@conf/access-router";
import { type ParticipantMuted } from "@conf/session-store";
import { roleIn } from "@conf/call-flow";
import type {
  Call,
  ControlMessage,
  HandoverMessage,
  HandoverStep,
  RestoreMeeting,
  SessionStore,
  Unsubscribe,
} from "@conf/session-store";
import { CallSession, type CallMedia, partyOf, withoutTag } from "./call.ts";
import { type GuessKeys, GuessLimiter, guessKeys, type GuessStore, TrustedSources } from "./guess-limiter.ts";
import { escapeControl, logSafe } from "./log-safe.ts";
import { TickStats } from "./tick-stats.ts";
import {
  handoverCommitSchema,
  type HandoverOffer,
  handoverDigitSchema,
  handoverOfferSchema,
  handoverReadySchema,
  MeetingPlacement,
  samplesFromBase64,
  samplesToBase64,
} from "./handover.ts";
import { commandsFor, type KeypadCommand, KeypadMatcher, mayUse } from "./keypad.ts";
import { MeetingRuntime, MixGroup } from "./meeting.ts";
import {
  ConferenceMixer,
  createMohSources,
  dtmfKey,
  BEEP,
  ENTRY_TONE,
  EXIT_TONE,
  keyClips,
  type LoopSource,
  MIXER_EVENT_DIGIT,
  MIX_RATE,
  MIXER_EVENT_PROMPT_DONE,
  buildOffer,
  negotiateAnswer,
  numberClips,
  parseAnswer,
  type PromptLibrary,
  type PromptName,
  type RtpLatchOptions,
} from "./media/index.ts";
import { type Recorder, startLocalRecording, startRemoteRecording } from "./recording/index.ts";
import { RtpPortPool, type RtpSocket } from "./rtp-socket.ts";
import {
  type Dialog,
  type DialogSnapshot,
  type IncomingCall,
  type MessageLimits,
  parseNameAddr,
  SipUa,
  type SipTimerOptions,
  type SourceLimits,
  uriUser,
} from "./sip/index.ts";

export interface MixerNodeOptions {
  router: AccessRouter;
  store: SessionStore;
  prompts: PromptLibrary;
  nodeId: string;
  sipHost: string;
  sipPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Spread calls over this many shared RTP sockets (batched sends); 0: a socket per call. */
  rtpSharedSockets?: number;
  /** Wrong codes from one source (trusted: one caller number) before it is refused for `codeGuessBanSeconds`. */
  codeGuessLimit?: number;
  codeGuessBanSeconds?: number;
  codeGuessWindowSeconds?: number;
  /** Wrong codes on one number dialed per window past which its code checks wait `codeGuessDidDelaySeconds`. */
  codeGuessDidLimit?: number;
  codeGuessDidDelaySeconds?: number;
  /** Shared guess counts (Redis) for every node; absent: this node's memory only. Closed by `stop()`. */
  guessStore?: GuessStore | null;
  /** The operator's carriers and SBCs (SIP_TRUSTED_SOURCES). */
  trustedSources?: TrustedSources;
  /** Per-source INVITE limits; default DEFAULT_SOURCE_LIMITS (trusted sources are exempt). */
  sourceLimits?: SourceLimits;
  /** SIP message and SDP size limits; default DEFAULT_MESSAGE_LIMITS. */
  messageLimits?: Partial<MessageLimits>;
  /** A joined caller sending no RTP this long is hung up, seconds. */
  rtpTimeoutSeconds?: number;
  /** A caller at the IVR (lobby) sending no RTP this long is hung up, ms. Default 5000. */
  lobbyRtpTimeoutMs?: number;
  /** How a call's RTP latches onto its caller (packets in sequence, grace, re-latch). */
  rtpLatch?: RtpLatchOptions;
  /** Seconds a caller may stay silent at the code prompt before it is repeated. */
  codeTimeoutSeconds?: number;
  /** Lease of this node's meetings in the store, ms (renewed every third of it). */
  leaseTtlMs?: number;
  sipTimers?: SipTimerOptions;
  /** Where `local` recordings are written. Default `.data/recordings`. */
  recordingDir?: string;
  /**
   * Nodes to mix new meetings on (this node's worker processes): admitted callers are
   * handed over to them. Empty or absent: this node mixes the meetings it creates.
   */
  placement?: () => readonly string[];
  /** Sub-ticks each frame's packets are spread over (1-10, default 1). */
  sendPhases?: number;
  /** Log the tick timing (and calls, meetings) every this many seconds; 0: never. */
  statsSeconds?: number;
  /** How long a hand-over step may take before the call stays here, ms. Default 3000. */
  handoverTimeoutMs?: number;
  log?: (line: string) => void;
}

const FRAME_MS = 20;
/** How long the front keeps a handed-over dialog for phones that ignore the target refresh, ms. */
const MOVED_KEEP_MS = 12 * 3600_000;
/**
 * Sub-ticks a frame's packets are spread over by default (see scheduleTick). Measured
 * with 1000 callers (BENCHMARKS.md): 4 phases cost 62% -> 77% of a core with a socket
 * per call (four times the wake-ups) and did not shorten the tail, so 1.
 */
const SEND_PHASES = 1;
/** How long a caller may say its name for the roll call, seconds. */
const NAME_SECONDS = 2.5;
/** Silence after a goodbye before the BYE, ms. */
const HANGUP_GRACE_MS = 300;

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
const MAX_CODE_LENGTH = 32;

export class MixerNode {
  readonly lobby: MixGroup<CallSession>;
  readonly meetings = new Map<string, MeetingRuntime<CallSession>>();
  readonly calls = new Map<string, CallSession>();
  private readonly byDialog = new Map<string, CallSession>();
  private readonly ports: RtpPortPool;
  private readonly guesses: GuessLimiter;
  private readonly trusted: TrustedSources;
  /** Under what each call's wrong codes are counted (set when it is answered). */
  private readonly guessKeysOf = new WeakMap<CallSession, GuessKeys>();
  private readonly moh: ReadonlyMap<string, LoopSource>;
  private readonly log: (line: string) => void;
  private ua: SipUa | null = null;
  private clock: ReturnType<typeof setTimeout> | null = null;
  private housekeeping: ReturnType<typeof setInterval> | null = null;
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private keypadTimer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: Unsubscribe | null = null;
  private stopResetWatch: (() => void) | null = null;
  /** The meeting key of each running meeting and the stored Call of each joined call: what a restore writes back. */
  private readonly meetingKeys = new WeakMap<MeetingRuntime<CallSession>, string>();
  private readonly storedCalls = new WeakMap<CallSession, Call>();
  /** A restore is running; `again`: Redis was found emptied again meanwhile. */
  private restoring: { again: boolean } | null = null;
  private nextTick = 0;
  private phase = 0;
  private readonly sendPhases: number;
  private readonly placement: MeetingPlacement | null;
  /** Our hand-overs waiting for the owner's reply, by hand-over id. */
  private readonly handoversOut = new Map<string, (m: HandoverMessage | null) => void>();
  /**
   * Calls offered to us, their RTP socket open, waiting for the phone's yes; `call` is
   * set once it commits (the socket's handler reads it from here).
   */
  private readonly handoversIn = new Map<
    string,
    { offer: HandoverOffer; socket: RtpSocket; sessionId: number; timer: ReturnType<typeof setTimeout>; call: CallSession | null }
  >();
  /** Dialogs handed over to another node, by dialog id: what still arrives here is passed on. */
  private readonly moved = new Map<string, { nodeId: string; handoverId: string; dialog: Dialog }>();
  /** The same, by hand-over id (the owner's `ended` names it). */
  private readonly movedByHandover = new Map<string, string>();
  /** Calls handed over to us, by hand-over id (the front's `digit` names it). */
  private readonly takenOver = new Map<string, CallSession>();
  /** How late and how long the ticks are; logged every `statsSeconds`. */
  readonly tickStats = new TickStats();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  /** RTP counts of calls that ended here (a handed-over call counts where it ended). */
  private rxEndedExpected = 0;
  private rxEndedPackets = 0;
  /** Packets of ended calls dropped as not from their caller. */
  private rxEndedForeign = 0;
  /** Node clock in ms, read once per tick. */
  now = performance.now();
  private stopped = false;

  constructor(private readonly opts: MixerNodeOptions) {
    this.ports = new RtpPortPool(opts.rtpPortMin, opts.rtpPortMax, opts.rtpSharedSockets ?? 0, opts.rtpLatch);
    this.trusted = opts.trustedSources ?? new TrustedSources([]);
    this.moh = createMohSources();
    this.lobby = new MixGroup<CallSession>(new ConferenceMixer({ mohSources: this.moh, mohEnabled: false }));
    const sink = opts.log ?? ((l) => console.log(`mixer: ${l}`));
    // Sites escape what they print from SIP (logSafe); this catches what they missed,
    // so no value from a caller can start a log line of its own.
    this.log = (line) => sink(escapeControl(line));
    let storeErrorLogged = 0;
    this.guesses = new GuessLimiter(
      {
        limit: opts.codeGuessLimit ?? 10,
        banMs: (opts.codeGuessBanSeconds ?? 600) * 1000,
        windowMs: (opts.codeGuessWindowSeconds ?? opts.codeGuessBanSeconds ?? 600) * 1000,
        didLimit: opts.codeGuessDidLimit ?? 100,
        didDelayMs: (opts.codeGuessDidDelaySeconds ?? 3) * 1000,
      },
      opts.guessStore ?? null,
      {
        onStoreError: (err) => {
          // Once a minute at most: Redis down means one failure per code entered.
          const t = Date.now();
          if (t - storeErrorLogged < 60_000) return;
          storeErrorLogged = t;
          this.log(`guess counts: shared store failed, using this node's (${logSafe(err)})`);
        },
      },
    );
    this.placement = opts.placement ? new MeetingPlacement(opts.placement) : null;
    this.sendPhases = Math.max(1, Math.min(10, Math.floor(opts.sendPhases ?? SEND_PHASES)));
  }

  get sipPort(): number {
    return this.ua?.address.port ?? 0;
  }

  async start(): Promise<void> {
    this.ua = await SipUa.listen({
      host: this.opts.sipHost,
      port: this.opts.sipPort,
      timers: this.opts.sipTimers,
      forceRport: true,
      sourceLimits: this.opts.sourceLimits ?? true,
      trustedSource: (address) => this.trusted.has(address),
      messageLimits: this.opts.messageLimits,
      handlers: {
        onInvite: (call) => this.onInvite(call),
        onCancel: (call) => this.onCancel(call),
        onBye: (dialog) => this.onRemoteHangup(dialog),
        onAck: (dialog) => this.byDialog.get(dialog.id)?.checkReady(),
        onDialogFailed: (dialog) => this.onRemoteHangup(dialog),
        onInfoDtmf: (dialog, digit) => {
          const c = this.byDialog.get(dialog.id);
          if (c) this.onDigit(c, digit);
          const moved = this.moved.get(dialog.id);
          if (moved) this.bg(this.sendHandover(moved.nodeId, "digit", moved.handoverId, { digit }));
        },
        onReinvite: (dialog, offer) => this.onReinvite(dialog, offer.sdp),
        onError: (err, ctx) => this.log(`sip error (${logSafe(ctx)}): ${logSafe(err)}`),
      },
    });
    this.unsubscribe = await this.opts.store.control.subscribe(this.opts.nodeId, (m) => this.onControl(m));
    this.stopResetWatch = this.opts.store.onReset(() => this.bg(this.restoreMeetings()));
    this.nextTick = performance.now() + FRAME_MS;
    this.scheduleTick();
    this.housekeeping = setInterval(() => this.checkTimeouts(), 1000);
    this.keypadTimer = setInterval(() => this.pollKeypads(), 200);
    const ttl = this.opts.leaseTtlMs ?? 30_000;
    this.leaseTimer = setInterval(() => this.bg(this.renewLeases(ttl)), Math.max(1000, Math.floor(ttl / 3)));
    const statsSeconds = this.opts.statsSeconds ?? 0;
    if (statsSeconds > 0) {
      this.tickStats.summary(); // start counting now, not at construction
      this.statsTimer = setInterval(() => {
        this.log(`${this.tickStats.summary()}; ${this.calls.size} calls, ${this.meetings.size} meetings; ${this.rxSummary()}`);
      }, statsSeconds * 1000);
    }
    this.log(`SIP on udp ${this.opts.sipHost}:${this.sipPort}, RTP ${this.opts.rtpPortMin}-${this.opts.rtpPortMax}`);
  }

  /**
   * RTP received from callers since the node started, ended calls included: what the
   * callers' sequence numbers say they sent against what arrived (loss towards us).
   */
  rxSummary(): string {
    let expected = this.rxEndedExpected;
    let received = this.rxEndedPackets;
    for (const c of this.calls.values()) {
      expected += c.rxExpected;
      received += c.rxPackets;
    }
    let foreign = this.rxEndedForeign + this.ports.foreignDropped;
    for (const c of this.calls.values()) foreign += c.latch.foreign;
    const lost = Math.max(0, expected - received);
    const pct = expected > 0 ? (100 * lost) / expected : 0;
    return `rx totals: ${received} packets of ${expected} expected, ${lost} lost (${pct.toFixed(3)}%), ${foreign} foreign packets dropped`;
  }

  /** Hangs every call up with BYE, then stops. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log(this.rxSummary());
    await Promise.all([...this.calls.values()].map((c) => this.hangup(c, "shutdown")));
    if (this.clock) clearTimeout(this.clock);
    if (this.housekeeping) clearInterval(this.housekeeping);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.stopResetWatch?.();
    if (this.keypadTimer) clearInterval(this.keypadTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    await this.unsubscribe?.();
    this.ua?.close();
    await this.guesses.close();
  }

  // ---- the clock -------------------------------------------------------------------

  /**
   * Drift-corrected clock of `sendPhases` sub-ticks per 20 ms frame, scheduled against
   * absolute times. Phase 0 mixes every group; each phase then sends the packets of its
   * share of the slots (slot mod phases, so a call keeps its phase and its packets still
   * leave every 20 ms). Sending is the expensive part (a system call, and on loopback
   * the receiver's work too): one frame's 1000 packets hold the event loop for ~6 ms,
   * which phases would split; on this machine the extra wake-ups cost more than that
   * bought, so the default is one phase (MIXER_SEND_PHASES).
   */
  private scheduleTick(): void {
    const delay = Math.max(0, this.nextTick - performance.now());
    this.clock = setTimeout(() => {
      if (this.stopped) return;
      const t = performance.now();
      if (t >= this.nextTick) {
        this.tickStats.late.add(t - this.nextTick);
        // After a long stall (GC, debugger), do not burst: resume from now.
        if (t - this.nextTick > 200) this.nextTick = t;
        while (this.nextTick <= t) {
          this.subTick(this.phase);
          this.phase = this.phase + 1 === this.sendPhases ? 0 : this.phase + 1;
          this.nextTick += FRAME_MS / this.sendPhases;
        }
        this.tickStats.work.add(performance.now() - t);
        if (this.calls.size === 0 && this.phase !== 0) {
          // Nothing to send: an idle node wakes once a frame, not once a phase.
          this.nextTick += (this.sendPhases - this.phase) * (FRAME_MS / this.sendPhases);
          this.phase = 0;
        }
      }
      this.scheduleTick();
    }, delay);
  }

  private subTick(phase: number): void {
    if (phase === 0) {
      this.now = performance.now();
      this.mixGroup(this.lobby);
      for (const m of this.meetings.values()) this.mixGroup(m);
    }
    this.lobby.sendPhase(phase, this.sendPhases);
    for (const m of this.meetings.values()) m.sendPhase(phase, this.sendPhases);
    this.ports.flush();
  }

  private mixGroup(group: MixGroup<CallSession>): void {
    const mixer = group.mixer;
    if (mixer.activeCount === 0) {
      group.sendCount = 0;
      return;
    }
    mixer.tick();
    group.takeSendList();
    const calls = group.slotCalls;
    for (let e = 0; e < mixer.eventCount; e++) {
      const call = calls[mixer.eventSlot[e] as number];
      if (!call) continue;
      const kind = mixer.eventKind[e];
      if (kind === MIXER_EVENT_DIGIT) this.onDigit(call, dtmfKey(mixer.eventValue[e] as number));
      else if (kind === MIXER_EVENT_PROMPT_DONE) this.onPromptDone(call);
    }
  }

  // ---- SIP -------------------------------------------------------------------------

  private async onInvite(invite: IncomingCall): Promise<void> {
    const dateCreated = new Date();
    const dialed = invite.dialedNumber ?? "";
    const decision = await this.opts.router.route({
      dialed,
      caller: invite.callerNumber ?? "",
      transport: "udp",
    });
    if (decision.kind === "refuse") {
      const r = refusalResponse(decision.reason);
      this.log(`refused ${logSafe(dialed)} from ${invite.source.address}: ${decision.reason}`);
      invite.reject(r.sipStatus, r.sipReason);
      return;
    }
    if (!invite.sdp) {
      // We answer offers; an offerless INVITE would need our offer in the 200.
      invite.reject(488, "Not Acceptable Here");
      return;
    }
    // Where the caller's media comes from decides which RTP socket can take it.
    const offered = negotiateAnswer(invite.sdp, { address: this.opts.sipHost, port: 0 });
    if (!offered.ok) {
      invite.reject(488, "Not Acceptable Here");
      return;
    }
    let call: CallSession | null = null;
    let socket: Awaited<ReturnType<RtpPortPool["open"]>>;
    try {
      socket = await this.ports.open(
        this.opts.sipHost,
        (buf, port, address) => {
          call?.receive(buf, port, address, performance.now());
        },
        { expect: { address: offered.value.remoteAddress, port: offered.value.remotePort } },
      );
    } catch (err) {
      this.log(`no RTP port: ${String(err)}`);
      invite.reject(503, "Service Unavailable");
      return;
    }
    const sessionId = Math.floor(Math.random() * 2 ** 31);
    const neg = negotiateAnswer(invite.sdp, { address: this.opts.sipHost, port: socket.port, sessionId });
    if (!neg.ok) {
      socket.close();
      invite.reject(488, "Not Acceptable Here");
      return;
    }
    if (invite.state !== "offered" && invite.state !== "early") {
      socket.close(); // cancelled while we looked things up
      return;
    }
    const media: CallMedia = {
      codec: neg.value.codec,
      payloadType: neg.value.payloadType,
      telephoneEventPt: neg.value.telephoneEventPt,
      remoteAddress: neg.value.remoteAddress,
      remotePort: neg.value.remotePort,
      send: neg.value.direction === "sendrecv" || neg.value.direction === "sendonly",
    };
    call = new CallSession(partyOf(invite), socket, media, dateCreated, this.now, (c, k) => this.onDigit(c, k));
    call.sdpSessionId = sessionId;
    this.guessKeysOf.set(call, guessKeys(
      {
        sourceAddress: invite.source.address,
        callerNumber: invite.callerNumber,
        assertedNumber: assertedNumber(invite),
        dialed: dialed || null,
      },
      this.trusted,
    ));
    invite.appData = call;
    const dialog = invite.accept(neg.value.answer);
    if (!dialog) {
      socket.close();
      return;
    }
    call.dialog = dialog;
    this.calls.set(call.callSid, call);
    this.byDialog.set(dialog.id, call);
    this.enterLobby(call);
    // Nothing is played (so nothing sent) before the ACK and the caller's own RTP: an
    // INVITE naming someone else's address must not make us stream prompts at it.
    if (decision.kind === "join") {
      call.onReady = (c) => {
        if (c.state === "ivr") this.bg(this.admitted(c, decision));
      };
    } else {
      call.prompt = decision.context;
      const clips: PromptName[] = [];
      if (decision.context.attributes.conference_greeting_enabled === "on") clips.push("welcome");
      clips.push("enter-code");
      call.onReady = (c) => {
        // Digits typed before (SIP INFO) mean the caller knows what to do.
        if (c.state === "ivr" && c.prompt && c.digits === "" && c.waitingSince === 0 && c.attempts === 0) this.say(c, clips, "collect");
      };
    }
    call.checkReady();
  }

  private onCancel(invite: IncomingCall): void {
    const c = invite.appData;
    if (c instanceof CallSession) this.bg(this.hangup(c, "cancelled"));
  }

  private onRemoteHangup(dialog: Dialog): void {
    const moved = this.moved.get(dialog.id);
    if (moved) {
      // The phone hung up on its old Contact (us) after the hand-over: tell the new owner.
      this.forgetMoved(dialog.id);
      this.bg(this.sendHandover(moved.nodeId, "bye", moved.handoverId, {}));
      return;
    }
    const c = this.byDialog.get(dialog.id);
    if (c) this.bg(this.hangup(c, "remote"));
  }

  private onReinvite(dialog: Dialog, sdp: string | null): { sdp: string } | { status: number } {
    const c = this.byDialog.get(dialog.id);
    if (!c || !sdp) return { status: 488 };
    c.sdpVersion++;
    const neg = negotiateAnswer(
      sdp,
      { address: this.opts.sipHost, port: c.rtp.port, sessionId: c.sdpSessionId, sessionVersion: c.sdpVersion },
      c.media.codec,
    );
    if (!neg.ok) return { status: 488 };
    const moved = neg.value.remoteAddress !== c.media.remoteAddress || neg.value.remotePort !== c.media.remotePort;
    c.media.send = neg.value.direction === "sendrecv" || neg.value.direction === "sendonly";
    if (moved && neg.value.remoteAddress !== "0.0.0.0") {
      c.media.remoteAddress = neg.value.remoteAddress;
      c.media.remotePort = neg.value.remotePort;
      // Re-arms the latch: the caller's packets from the new place latch it again.
      c.rtp.expect(neg.value.remoteAddress, neg.value.remotePort);
    }
    return { sdp: neg.value.answer };
  }

  // ---- IVR -------------------------------------------------------------------------

  private enterLobby(call: CallSession): void {
    const slot = this.lobby.mixer.addSlot({
      codec: call.media.codec,
      member: false,
      input: call.jitter,
      inbandDtmf: call.media.telephoneEventPt === null,
      send: call.media.send,
    });
    if (slot < 0) throw new Error("lobby is full");
    call.group = this.lobby;
    call.slot = slot;
    this.lobby.add(call, slot);
  }

  /** Queues prompts for one caller; `then` says what happens when they finish. */
  private say(call: CallSession, clips: readonly PromptName[], then: CallSession["afterPrompt"] = "none"): void {
    if (!call.group || call.slot < 0) return;
    const player = call.group.mixer.prompt(call.slot);
    for (const name of clips) player.enqueue(this.opts.prompts.get(name));
    // The BYE must not cut the last words: the caller's jitter buffer still holds them.
    if (then === "hangup") player.enqueueSilence(HANGUP_GRACE_MS);
    call.afterPrompt = then;
  }

  private onPromptDone(call: CallSession): void {
    const then = call.afterPrompt;
    call.afterPrompt = "none";
    if (then === "hangup") this.bg(this.hangup(call, "ivr"));
    else if (then === "record-name") {
      call.startNameCapture(NAME_SECONDS);
      setTimeout(() => {
        call.finishNameCapture();
        const decision = call.pendingJoin;
        call.pendingJoin = null;
        if (decision && call.state === "ivr") this.bg(this.joinMeeting(call, decision));
      }, NAME_SECONDS * 1000);
    }
    else if (then === "collect") call.waitingSince = this.now;
  }

  private onDigit(call: CallSession, key: string): void {
    if (call.state === "ivr" && call.prompt) {
      if (call.afterPrompt === "hangup") return;
      if (key === "#") {
        const code = call.digits;
        call.digits = "";
        this.bg(this.submitCode(call, code));
        return;
      }
      if (key === "*") {
        call.digits = ""; // start over
        return;
      }
      if (call.digits.length < MAX_CODE_LENGTH) call.digits += key;
      // Typing over the prompt: stop it, the caller knows what to do.
      if (call.group && call.slot >= 0) call.group.mixer.prompt(call.slot).clear();
      call.waitingSince = this.now;
      return;
    }
    if (call.state === "meeting") this.onKeypad(call, key);
  }

  private async submitCode(call: CallSession, code: string): Promise<void> {
    const context = call.prompt;
    if (!context) return;
    const keys = this.guessKeysOf.get(call) ?? guessKeys(
      { sourceAddress: call.party.sourceAddress, callerNumber: call.party.callerNumber, assertedNumber: null, dialed: null },
      this.trusted,
    );
    const verdict = await this.guesses.check(keys);
    if (call.state !== "ivr") return;
    if (verdict.kind === "refuse") {
      this.log(`refused code entry from ${logSafe(keys.key)}: too many wrong codes (retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s)`);
      this.say(call, ["try-later", "goodbye"], "hangup");
      return;
    }
    if (verdict.delayMs > 0) await Bun.sleep(verdict.delayMs);
    if (call.state !== "ivr") return;
    const admitted = code ? await this.opts.router.admit(context, code) : null;
    if (call.state !== "ivr") return;
    if (!admitted || admitted.kind === "refuse") {
      call.attempts++;
      const banned = await this.guesses.wrong(keys);
      if (banned) this.log(`${logSafe(keys.key)} reached the wrong-code limit; refused for a while`);
      if (call.state !== "ivr") return;
      if (banned || call.attempts >= MAX_CODE_ATTEMPTS) this.say(call, ["wrong-code", "too-many-tries", "goodbye"], "hangup");
      else this.say(call, ["wrong-code", "enter-code"], "collect");
      return;
    }
    await this.admitted(call, admitted);
  }

  /** Admitted: with roll call on, the caller first records its name, then joins. */
  private async admitted(call: CallSession, decision: JoinDecision): Promise<void> {
    if (decision.attributes.conference_rollcall !== "on") {
      await this.joinMeeting(call, decision);
      return;
    }
    call.prompt = null; // no more codes
    call.pendingJoin = decision;
    this.say(call, ["name-record"]);
    call.group?.mixer.prompt(call.slot).enqueue(BEEP);
    call.afterPrompt = "record-name";
  }

  private refuse(call: CallSession, reason: RefusalReason): void {
    this.say(call, [REFUSAL_CLIP[reason], "goodbye"], "hangup");
  }

  // ---- meetings --------------------------------------------------------------------

  /** `handedOver`: the call came from another node's IVR, so it is mixed here whatever happens. */
  private async joinMeeting(call: CallSession, decision: JoinDecision, handedOver = false): Promise<void> {
    call.state = "joining";
    call.role = decision.role;
    call.accessCode = decision.accessCode ?? "";
    if (!handedOver) {
      const owner = await this.ownerFor(decision.meetingKey);
      if (call.state !== "joining") return;
      if (owner !== null && owner !== this.opts.nodeId) {
        if (await this.handOver(call, decision, owner)) return;
        if (call.state !== "joining") return;
        this.placement?.forget(decision.meetingKey);
      }
    }
    const result = await this.opts.store.join({
      meetingKey: decision.meetingKey,
      accountSid: decision.accountSid,
      meetingRoomSid: decision.meetingRoomSid,
      nodeId: this.opts.nodeId,
      call: {
        call_sid: call.callSid,
        access_code: call.accessCode,
        codecs: call.media.codec,
        number_src: withoutTag(call.party.from),
        number_dst: withoutTag(call.party.to),
        name: call.party.displayName,
        direction: "In",
        role: call.role,
        date_created: call.dateCreated,
        muted: call.role === "listener",
      },
    }).catch((err: unknown) => {
      this.log(`call ${call.callSid}: join failed: ${String(err)}`);
      return null;
    });
    if (result === null) {
      // Redis did not answer in time: the caller is told to try later, not left in silence.
      if (call.state !== "joining") return;
      call.state = "ivr";
      call.prompt = null;
      this.say(call, ["try-later", "goodbye"], "hangup");
      return;
    }
    if (call.state !== "joining") {
      // Hung up while joining: undo.
      if (result.ok) await this.opts.store.leave(call.callSid);
      return;
    }
    if (!result.ok) {
      call.state = "ivr";
      call.prompt = null; // no more codes: a locked meeting is final
      this.refuse(call, result.reason);
      return;
    }
    if (result.ownerNodeId !== this.opts.nodeId) {
      this.log(`meeting ${result.meeting.meeting_sid} is owned by ${result.ownerNodeId}; mixing here too`);
    }
    call.muted = result.call.muted;
    call.onHold = result.call.on_hold;
    if (call.role === "participant" && result.meeting.participant_muted !== "false" && !call.muted) {
      // The meeting mutes participants (relaxed or true): so does their Call object.
      call.muted = true;
      // The mix mutes it either way; a store that did not answer is put right by the next write.
      this.bg(this.opts.store.updateCall(call.callSid, { muted: true }));
    }
    let runtime = this.meetings.get(result.meeting.meeting_sid);
    if (!runtime) {
      runtime = new MeetingRuntime<CallSession>(
        result.meeting.meeting_sid,
        decision.accountSid,
        decision.meetingRoomSid,
        decision.attributes,
        result.meeting,
        this.moh,
      );
      this.meetings.set(runtime.meetingSid, runtime);
      this.meetingKeys.set(runtime, decision.meetingKey);
    }
    // Move the caller from the lobby into the meeting's mix; its RTP clock carries on.
    this.lobby.remove(call.slot);
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
      this.log(`meeting ${runtime.meetingSid} is full`);
      call.group = null;
      call.slot = -1;
      await this.hangup(call, "full");
      return;
    }
    call.state = "meeting";
    this.storedCalls.set(call, result.call);
    call.group = runtime;
    call.slot = slot;
    call.meeting = runtime;
    runtime.add(call, slot);
    runtime.calls.add(call);
    runtime.locked = result.meeting.locked;
    call.keypad = new KeypadMatcher(decision.attributes);
    if (call.role === "host") {
      if (runtime.stopTimer) {
        clearTimeout(runtime.stopTimer);
        runtime.stopTimer = null;
        runtime.mixer.overlay.clear();
      }
      if (!runtime.started) this.startMeeting(runtime);
    }
    const others = runtime.calls.size - 1;
    const attrs = decision.attributes;
    const clips: PromptName[] = [];
    if (!runtime.started) {
      // conference_start_how moderator: wait with music for a host, for a while.
      runtime.apply(call);
      this.say(call, ["wait-for-host"]);
      const wait = Number(attrs.conference_start_wait) * 1000;
      call.waitTimer = setTimeout(() => {
        call.waitTimer = null;
        if (call.state === "meeting" && call.meeting && !call.meeting.started) this.say(call, ["goodbye"], "hangup");
      }, wait);
    } else if (others === 0) {
      if (attrs.conference_singlemember === "on") clips.push("only-one");
      else clips.push("first-one");
    } else if (roleIn(attrs.call_announceparticipantcount, call.role)) {
      clips.push(others === 1 ? "there-is" : "there-are", ...numberClips(others), others === 1 ? "other-person" : "other-people");
    }
    if (clips.length) this.say(call, clips);
    if (others > 0 && runtime.entryTones) runtime.mixer.playToMeeting(ENTRY_TONE);
    if (others > 0 && call.name && attrs.conference_rollcall_onenter === "on") {
      runtime.mixer.playToMeeting(call.name);
      runtime.mixer.playToMeeting(this.opts.prompts.get("has-joined"));
    }
    this.log(`call ${call.callSid} joined meeting ${runtime.meetingSid} as ${call.role}`);
  }

  private onKeypad(call: CallSession, key: string): void {
    const r = call.keypad?.feed(key, performance.now());
    if (r?.kind === "command") this.bg(this.runCommand(call, r.command));
  }

  private pollKeypads(): void {
    const now = performance.now();
    for (const c of this.calls.values()) {
      if (c.state !== "meeting" || !c.keypad) continue;
      const r = c.keypad.poll(now);
      if (r.kind === "command") this.bg(this.runCommand(c, r.command));
    }
  }

  /** A keypad command: checked against the caller's role, then the shared meeting rules. */
  private async runCommand(call: CallSession, command: KeypadCommand): Promise<void> {
    const runtime = call.meeting;
    if (!runtime || runtime.ended) return;
    if (!mayUse(command, call.role)) {
      this.say(call, [command === "self_mute" && call.role === "listener" ? "listener-only" : "host-only"]);
      return;
    }
    const store = this.opts.store;
    switch (command) {
      case "self_mute": {
        const unmute = call.muted;
        if (unmute && call.role === "participant" && runtime.participantMuted === "true" && runtime.handSpeaking !== call) {
          this.say(call, ["cannot-unmute"]);
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
        this.say(call, [next === "false" ? "meeting-unmuted" : "meeting-muted"]);
        return;
      }
      case "qa": {
        if (call.role === "host") {
          const prev = runtime.handSpeaking;
          if (prev && prev.state === "meeting" && runtime.participantMuted !== "false") {
            await store.updateCall(prev.callSid, { muted: true });
            this.applyCallMute(prev, true);
          }
          runtime.handSpeaking = null;
          const next = runtime.hands.shift();
          if (!next) {
            this.say(call, ["no-hands"]);
            return;
          }
          runtime.handSpeaking = next;
          await store.updateCall(next.callSid, { muted: false });
          next.muted = false;
          runtime.apply(next);
          this.say(next, ["your-turn"]);
          return;
        }
        const i = runtime.hands.indexOf(call);
        if (i >= 0) {
          runtime.hands.splice(i, 1);
          this.say(call, ["hand-lowered"]);
        } else {
          runtime.hands.push(call);
          this.say(call, ["hand-raised"]);
        }
        return;
      }
      case "lock": {
        const locked = !runtime.locked;
        await store.updateMeeting(runtime.meetingSid, { locked });
        runtime.locked = locked;
        this.say(call, [locked ? "meeting-locked" : "meeting-unlocked"]);
        return;
      }
      case "hold": {
        const onHold = runtime.onHold.includes("p") || runtime.onHold.includes("l") ? "" : "pl";
        await store.updateMeeting(runtime.meetingSid, { on_hold: onHold });
        this.applyMeetingHold(runtime, onHold);
        this.say(call, [onHold ? "hold-on" : "hold-off"]);
        return;
      }
      case "tones": {
        const on = !(runtime.entryTones || runtime.exitTones);
        runtime.entryTones = on;
        runtime.exitTones = on;
        this.say(call, [on ? "tones-on" : "tones-off"]);
        return;
      }
      case "count": {
        const others = runtime.calls.size - 1;
        this.say(call, [others === 1 ? "there-is" : "there-are", ...numberClips(others), others === 1 ? "other-person" : "other-people"]);
        return;
      }
      case "instructions": {
        const clips: PromptName[] = ["instructions"];
        for (const { command: c, keys } of commandsFor(runtime.attributes, call.role)) {
          clips.push(c === "qa" && call.role === "host" ? "instr-next-hand" : INSTRUCTION_CLIP[c], ...keyClips(keys));
        }
        this.say(call, clips);
        return;
      }
      case "moh_next": {
        const list = runtime.attributes.call_moh_list.split(",").filter((n) => this.moh.has(n));
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

  // ---- the meeting rules, shared by the keypad and the API ----------------------------

  /** A call's own mute changed (by its keypad, a host or the API): mix and prompt follow. */
  private applyCallMute(call: CallSession, muted: boolean): void {
    const runtime = call.meeting;
    call.muted = muted;
    if (!runtime) return;
    runtime.apply(call);
    this.say(call, [muted ? "muted" : "unmuted"]);
  }

  /** The meeting's participant_muted changed: every participant follows and is told. */
  private async applyParticipantMuted(runtime: MeetingRuntime<CallSession>, value: ParticipantMuted): Promise<void> {
    runtime.participantMuted = value;
    const muted = value !== "false";
    const writes: Promise<unknown>[] = [];
    for (const c of runtime.calls) {
      if (c.role !== "participant") continue;
      if (c.muted !== muted) writes.push(this.opts.store.updateCall(c.callSid, { muted }));
      c.muted = muted;
      runtime.apply(c);
      this.say(c, [muted ? "meeting-muted" : "meeting-unmuted"]);
    }
    if (!muted) {
      runtime.hands = [];
      runtime.handSpeaking = null;
    }
    await Promise.all(writes);
  }

  private applyMeetingHold(runtime: MeetingRuntime<CallSession>, onHold: string): void {
    runtime.onHold = onHold;
    for (const c of runtime.calls) runtime.apply(c);
  }

  /** A host arrived for a `moderator`-start meeting: everyone waiting is let in. */
  private startMeeting(runtime: MeetingRuntime<CallSession>): void {
    runtime.started = true;
    for (const c of runtime.calls) {
      if (c.waitTimer) clearTimeout(c.waitTimer);
      c.waitTimer = null;
      runtime.apply(c);
    }
  }

  /** Starts or stops recording the meeting's mix, by `recording_method`. */
  private async toggleRecording(runtime: MeetingRuntime<CallSession>, call: CallSession): Promise<void> {
    if (runtime.recorder) {
      await this.stopRecording(runtime);
      this.say(call, ["recording-stopped"]);
      return;
    }
    const rec = this.startRecording(runtime);
    if (!rec) return;
    const ready = await rec.ready;
    if (!ready.ok) {
      this.log(`recording of ${runtime.meetingSid} failed: ${logSafe(ready.error)}`);
      if (runtime.recorder === rec) await this.stopRecording(runtime);
      this.say(call, ["recording-stopped"]);
      return;
    }
    this.say(call, ["recording-started"]);
  }

  private startRecording(runtime: MeetingRuntime<CallSession>): Recorder | null {
    const a = runtime.attributes;
    const ua = this.ua;
    if (!ua) return null;
    const rec: Recorder =
      a.recording_method === "local"
        ? startLocalRecording({
            dir: this.opts.recordingDir ?? ".data/recordings",
            meetingSid: runtime.meetingSid,
            accountSid: runtime.accountSid,
            meetingRoomSid: runtime.meetingRoomSid,
            startedAt: new Date(),
            metadata: a.recording_metadata,
          })
        : startRemoteRecording({
            ua,
            ports: this.ports,
            host: this.opts.sipHost,
            target: a.recording_addr,
            meetingSid: runtime.meetingSid,
            metadata: a.recording_metadata,
          });
    runtime.recorder = rec;
    runtime.mixer.recordTap = (mix) => rec.write(mix);
    this.bg(this.opts.store.updateMeeting(runtime.meetingSid, { recording: true }));
    // A recording can end on its own (the recorder hung up, the disk failed).
    void rec.done.then(() => {
      if (runtime.recorder === rec) this.bg(this.stopRecording(runtime));
    });
    return rec;
  }

  /** Ends a call from our side or after the peer's BYE: out of the mix, the store and SIP. */
  async hangup(call: CallSession, why: string): Promise<void> {
    if (call.state === "ended" || call.state === "leaving") return;
    const wasIn = call.state;
    call.state = "leaving";
    if (call.group && call.slot >= 0) call.group.remove(call.slot);
    call.group = null;
    call.slot = -1;
    const runtime = call.meeting;
    if (call.waitTimer) clearTimeout(call.waitTimer);
    call.waitTimer = null;
    if (runtime) {
      runtime.calls.delete(call);
      const h = runtime.hands.indexOf(call);
      if (h >= 0) runtime.hands.splice(h, 1);
      if (runtime.handSpeaking === call) runtime.handSpeaking = null;
    }
    if (why !== "remote" && why !== "cancelled" && call.dialog) this.bg(call.dialog.bye());
    if (call.handedFrom) {
      this.takenOver.delete(call.handedFrom.handoverId);
      this.bg(this.sendHandover(call.handedFrom.nodeId, "ended", call.handedFrom.handoverId, {}));
    }
    call.rtp.close();
    this.rxEndedExpected += call.rxExpected;
    this.rxEndedPackets += call.rxPackets;
    this.rxEndedForeign += call.latch.foreign;
    if (call.latch.foreign > 0) this.log(`call ${call.callSid}: ${call.latch.foreign} foreign RTP packets dropped`);
    this.calls.delete(call.callSid);
    if (call.dialog) this.byDialog.delete(call.dialog.id);
    call.state = "ended";
    if (wasIn === "meeting" || wasIn === "joining") {
      // Redis away: the call is gone here whatever the store says; its record goes with the
      // meeting's lease, or is never restored.
      const left = await this.opts.store.leave(call.callSid).catch((err: unknown) => {
        this.log(`call ${call.callSid}: could not leave the store: ${String(err)}`);
        return null;
      });
      if (runtime && !runtime.ended) {
        if (left?.ended || runtime.calls.size === 0) this.disposeMeeting(runtime);
        else {
          if (runtime.exitTones) runtime.mixer.playToMeeting(EXIT_TONE);
          if (call.name && runtime.attributes.conference_rollcall_onexit === "on") {
            runtime.mixer.playToMeeting(call.name);
            runtime.mixer.playToMeeting(this.opts.prompts.get("has-left"));
          }
          if (call.role === "host" && runtime.hosts() === 0) this.lastHostLeft(runtime);
        }
      }
    }
    this.log(`call ${call.callSid} ended (${why})`);
  }

  /** `conference_stop_how` `moderator`: the others are told, then dropped after the wait. */
  private lastHostLeft(runtime: MeetingRuntime<CallSession>): void {
    if (runtime.ending) return;
    const a = runtime.attributes;
    if (a.recording_stop_how === "moderator") this.bg(this.stopRecording(runtime));
    if (a.conference_stop_how !== "moderator" || runtime.stopTimer) return;
    const wait = Number(a.conference_stop_wait);
    // Said to each caller, not into the mix: a caller left alone hears music, not the mix.
    const warning: PromptName[] = ["host-left", "meeting-ending", ...numberClips(wait), "seconds"];
    for (const c of runtime.calls) this.say(c, warning);
    // The goodbye clears what is playing, so it waits for the whole warning.
    const ms = Math.max(wait * 1000, this.clipsMs(warning) + HANGUP_GRACE_MS);
    runtime.stopTimer = setTimeout(() => {
      runtime.stopTimer = null;
      if (runtime.ended || runtime.hosts() > 0) return;
      this.endWithGoodbye(runtime, "moderator-stop");
    }, ms);
  }

  /** How long some prompts take to say, ms. */
  private clipsMs(clips: readonly PromptName[]): number {
    const samples = clips.reduce((n, name) => n + this.opts.prompts.get(name).length, 0);
    return (samples / MIX_RATE) * 1000;
  }

  /**
   * Ends a meeting for everyone after a goodbye: whatever a caller was hearing stops,
   * all hear "meeting ended, goodbye", then the meeting ends on a timer, so it ends even
   * if the caller who asked for it hangs up meanwhile.
   */
  private endWithGoodbye(runtime: MeetingRuntime<CallSession>, why: string): void {
    if (runtime.ending || runtime.ended) return;
    runtime.ending = true;
    if (runtime.stopTimer) clearTimeout(runtime.stopTimer);
    runtime.stopTimer = null;
    runtime.mixer.overlay.clear();
    const clips: PromptName[] = ["meeting-ended", "goodbye"];
    for (const c of runtime.calls) {
      if (c.slot < 0) continue;
      runtime.mixer.prompt(c.slot).clear();
      this.say(c, clips);
    }
    setTimeout(() => this.bg(this.endMeeting(runtime.meetingSid, why)), this.clipsMs(clips) + HANGUP_GRACE_MS);
  }

  /** Runs a promise in the background: a failure is logged, never an unhandled rejection. */
  private bg(p: Promise<unknown>): void {
    p.catch((err) => this.log(`background task failed: ${logSafe(err)}${err instanceof Error && err.stack ? ` ${escapeControl(err.stack)}` : ""}`));
  }

  private disposeMeeting(runtime: MeetingRuntime<CallSession>): void {
    runtime.ended = true;
    if (runtime.stopTimer) clearTimeout(runtime.stopTimer);
    runtime.stopTimer = null;
    this.bg(this.stopRecording(runtime));
    this.meetings.delete(runtime.meetingSid);
  }

  private async stopRecording(runtime: MeetingRuntime<CallSession>): Promise<void> {
    const rec = runtime.recorder;
    if (!rec) return;
    runtime.recorder = null;
    runtime.mixer.recordTap = null;
    await rec.stop();
    if (!runtime.ended) await this.opts.store.updateMeeting(runtime.meetingSid, { recording: false });
  }

  /** Ends a whole meeting: every caller is hung up with BYE, then the objects are gone. */
  async endMeeting(meetingSid: string, why: string): Promise<void> {
    const runtime = this.meetings.get(meetingSid);
    if (runtime) {
      this.disposeMeeting(runtime);
      await Promise.all([...runtime.calls].map((c) => this.hangup(c, why)));
    }
    await this.opts.store.endMeeting(meetingSid);
  }

  // ---- hand-over between nodes -----------------------------------------------------

  /** The node that mixes (or will mix) the meeting, or null to mix it here. */
  private async ownerFor(meetingKey: string): Promise<string | null> {
    // A store that does not answer: the join that follows says so to the caller.
    const meeting = await this.opts.store.getMeetingByKey(meetingKey).catch(() => null);
    if (meeting) {
      const info = await this.opts.store.getMeetingInfo(meeting.meeting_sid).catch(() => null);
      if (info) return info.nodeId;
    }
    return this.placement?.place(meetingKey, performance.now()) ?? null;
  }

  private sendHandover(nodeId: string, step: HandoverStep, handoverId: string, body: unknown): Promise<number> {
    return this.opts.store.control.send(nodeId, {
      type: "handover",
      meetingSid: "",
      step,
      handoverId,
      fromNodeId: this.opts.nodeId,
      body,
    });
  }

  /** Sends a step and waits for the other node's reply; null when there is none in time. */
  private handoverRequest(nodeId: string, step: HandoverStep, handoverId: string, body: unknown): Promise<HandoverMessage | null> {
    return new Promise((resolve) => {
      const finish = (m: HandoverMessage | null) => {
        clearTimeout(timer);
        this.handoversOut.delete(handoverId);
        resolve(m);
      };
      const timer = setTimeout(() => finish(null), this.opts.handoverTimeoutMs ?? 3000);
      this.handoversOut.set(handoverId, finish);
      this.sendHandover(nodeId, step, handoverId, body).then(
        (receivers) => {
          if (receivers === 0) finish(null); // nobody listens on that node's channel
        },
        () => finish(null),
      );
    });
  }

  /**
   * Moves an admitted caller to the node that mixes its meeting: the owner opens an RTP
   * socket, we re-INVITE the phone to it with the owner's Contact, and the owner adopts
   * the dialog. False when the call should be mixed here after all (no owner answered,
   * the phone refused the re-INVITE); true when it is gone from this node.
   */
  private async handOver(call: CallSession, decision: JoinDecision, nodeId: string): Promise<boolean> {
    const dialog = call.dialog;
    if (!dialog || !this.ua) return false;
    const handoverId = crypto.randomUUID();
    const offer: HandoverOffer = {
      callSid: call.callSid,
      dateCreated: call.dateCreated.toISOString(),
      party: call.party,
      media: {
        codec: call.media.codec,
        telephoneEventPt: call.media.telephoneEventPt,
        remoteAddress: call.latch.address,
        remotePort: call.latch.port,
      },
      decision: decision as unknown as HandoverOffer["decision"],
      name: call.name ? samplesToBase64(call.name) : null,
    };
    const reply = await this.handoverRequest(nodeId, "offer", handoverId, offer);
    const ready = reply?.step === "ready" ? handoverReadySchema.safeParse(reply.body) : null;
    if (!ready?.success) {
      this.log(`call ${call.callSid}: node ${nodeId} did not take it (${reply ? reply.step : "no answer"}); mixing here`);
      if (reply) this.bg(this.sendHandover(nodeId, "abort", handoverId, {}));
      return false;
    }
    if (call.state !== "joining") {
      this.bg(this.sendHandover(nodeId, "abort", handoverId, {}));
      return true;
    }
    let moved: Awaited<ReturnType<Dialog["reinvite"]>>;
    try {
      moved = await dialog.reinvite({ sdp: ready.data.sdp, contact: ready.data.contact, timeoutMs: 8000 });
    } catch (err) {
      // A Contact the SIP layer will not put on the wire (from a misbehaving node).
      moved = { ok: false, status: 500, reason: String(err) };
    }
    if (call.state !== "joining" || !moved.ok || !moved.sdp) {
      this.bg(this.sendHandover(nodeId, "abort", handoverId, {}));
      if (call.state !== "joining") return true;
      this.log(`call ${call.callSid}: the phone refused the move to ${nodeId} (${moved.ok ? "no SDP" : moved.status}); mixing here`);
      return false;
    }
    const snapshot = dialog.snapshot();
    // Kept until the owner says the call ended (or for a long call's life at most), for
    // phones that ignore the target refresh and still send BYE and INFO here.
    this.ua.releaseDialog(dialog, MOVED_KEEP_MS);
    this.moved.set(dialog.id, { nodeId, handoverId, dialog });
    this.placement?.count(nodeId, 1);
    this.movedByHandover.set(handoverId, dialog.id);
    setTimeout(() => this.forgetMoved(dialog.id), MOVED_KEEP_MS).unref?.();
    // Gone from here without a BYE or a leave: the owner carries on with the same call.
    call.state = "ended";
    if (call.group && call.slot >= 0) call.group.remove(call.slot);
    call.group = null;
    call.slot = -1;
    call.rtp.close();
    this.calls.delete(call.callSid);
    this.byDialog.delete(dialog.id);
    await this.sendHandover(nodeId, "commit", handoverId, { dialog: snapshot, answer: moved.sdp });
    this.log(`call ${call.callSid} handed over to ${nodeId}`);
    return true;
  }

  private forgetMoved(dialogId: string): void {
    const moved = this.moved.get(dialogId);
    if (!moved) return;
    this.moved.delete(dialogId);
    this.placement?.count(moved.nodeId, -1);
    this.movedByHandover.delete(moved.handoverId);
    this.ua?.forgetReleased(moved.dialog);
  }

  private onHandover(m: HandoverMessage): void {
    switch (m.step) {
      case "digit": {
        const c = this.takenOver.get(m.handoverId);
        const d = handoverDigitSchema.safeParse(m.body);
        if (c && d.success) this.onDigit(c, d.data.digit);
        return;
      }
      case "bye": {
        // The phone hung up on the node that handed it to us (it missed the target refresh).
        const c = this.takenOver.get(m.handoverId);
        if (c) this.bg(this.hangup(c, "remote"));
        return;
      }
      case "ended": {
        const dialogId = this.movedByHandover.get(m.handoverId);
        if (dialogId) this.forgetMoved(dialogId);
        return;
      }
      case "ready":
      case "refused":
        this.handoversOut.get(m.handoverId)?.(m);
        return;
      case "offer":
        this.bg(this.takeOffer(m));
        return;
      case "commit":
        this.bg(this.takeCommit(m));
        return;
      case "abort": {
        const pending = this.handoversIn.get(m.handoverId);
        if (!pending) return;
        clearTimeout(pending.timer);
        pending.socket.close();
        this.handoversIn.delete(m.handoverId);
        return;
      }
    }
  }

  /** Another node offers us a call of a meeting we mix (or will): open its RTP socket. */
  private async takeOffer(m: HandoverMessage): Promise<void> {
    const refuse = (reason: string) => this.sendHandover(m.fromNodeId, "refused", m.handoverId, { reason });
    const parsed = handoverOfferSchema.safeParse(m.body);
    if (!parsed.success) {
      this.log(`bad hand-over offer from ${logSafe(m.fromNodeId)}: ${logSafe(parsed.error.issues[0]?.message ?? "invalid")}`);
      await refuse("bad offer");
      return;
    }
    if (this.stopped || !this.ua) {
      await refuse("stopping");
      return;
    }
    const offer = parsed.data;
    let pending: { call: CallSession | null } | null = null;
    let socket: RtpSocket;
    try {
      socket = await this.ports.open(
        this.opts.sipHost,
        (buf, port, address) => {
          pending?.call?.receive(buf, port, address, performance.now());
        },
        { expect: { address: offer.media.remoteAddress, port: offer.media.remotePort } },
      );
    } catch (err) {
      this.log(`no RTP port for a hand-over: ${String(err)}`);
      await refuse("no RTP port");
      return;
    }
    const sessionId = Math.floor(Math.random() * 2 ** 31);
    const sdp = buildOffer({
      address: this.opts.sipHost,
      port: socket.port,
      sessionId,
      codecs: [offer.media.codec],
      telephoneEventPt: offer.media.telephoneEventPt ?? 101,
    });
    const entry = {
      offer,
      socket,
      sessionId,
      call: null,
      // The front gives up on the phone long before this.
      timer: setTimeout(() => {
        this.handoversIn.delete(m.handoverId);
        socket.close();
      }, 20_000),
    };
    pending = entry;
    this.handoversIn.set(m.handoverId, entry);
    await this.sendHandover(m.fromNodeId, "ready", m.handoverId, {
      sdp,
      contact: `<sip:mixer@${this.opts.sipHost}:${this.sipPort}>`,
    });
  }

  /** The phone took our SDP and Contact: adopt its dialog and join it to the meeting. */
  private async takeCommit(m: HandoverMessage): Promise<void> {
    const pending = this.handoversIn.get(m.handoverId);
    if (!pending || !this.ua) {
      this.log(`hand-over ${m.handoverId} committed after it expired here; the call is lost`);
      return;
    }
    clearTimeout(pending.timer);
    this.handoversIn.delete(m.handoverId);
    const fail = (why: string) => {
      this.log(`hand-over of call ${pending.offer.callSid} failed: ${logSafe(why)}`);
      pending.socket.close();
    };
    const parsed = handoverCommitSchema.safeParse(m.body);
    if (!parsed.success) return fail("bad commit");
    const answer = parseAnswer(parsed.data.answer, [pending.offer.media.codec]);
    if (!answer.ok) return fail(`the phone's answer: ${answer.error}`);
    let dialog: Dialog;
    try {
      // adoptDialog checks the snapshot field by field (it came from another process).
      dialog = this.ua.adoptDialog(parsed.data.dialog as DialogSnapshot);
    } catch (err) {
      return fail(String(err));
    }
    const a = answer.value;
    const media: CallMedia = {
      codec: a.codec,
      payloadType: a.payloadType,
      telephoneEventPt: a.telephoneEventPt,
      remoteAddress: a.remoteAddress,
      remotePort: a.remotePort,
      send: a.direction === "sendrecv" || a.direction === "sendonly",
    };
    const offer = pending.offer;
    if (a.remoteAddress !== offer.media.remoteAddress || a.remotePort !== offer.media.remotePort) {
      pending.socket.expect(a.remoteAddress, a.remotePort);
    }
    const call = new CallSession(offer.party, pending.socket, media, new Date(offer.dateCreated), this.now, (c, k) =>
      this.onDigit(c, k),
    );
    call.callSid = offer.callSid;
    call.handedFrom = { nodeId: m.fromNodeId, handoverId: m.handoverId };
    this.takenOver.set(m.handoverId, call);
    call.sdpSessionId = pending.sessionId;
    call.dialog = dialog;
    if (offer.name) call.name = samplesFromBase64(offer.name);
    pending.call = call;
    this.calls.set(call.callSid, call);
    this.byDialog.set(dialog.id, call);
    this.enterLobby(call);
    this.log(`call ${call.callSid} taken over from ${m.fromNodeId}`);
    await this.joinMeeting(call, offer.decision as unknown as JoinDecision, true);
  }

  // ---- control from the API --------------------------------------------------------

  private onControl(m: ControlMessage): void {
    if (m.type === "handover") {
      this.onHandover(m);
      return;
    }
    const runtime = this.meetings.get(m.meetingSid);
    if (!runtime) return;
    const callOf = (sid: string) => {
      const c = this.calls.get(sid);
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
          c.onHold = m.on_hold;
          runtime.apply(c);
        }
        break;
      }
      case "call_hangup": {
        const c = callOf(m.callSid);
        if (c) this.bg(this.hangup(c, "api"));
        break;
      }
      case "meeting_participant_muted":
        this.bg(this.applyParticipantMuted(runtime, m.participant_muted));
        break;
      case "meeting_on_hold":
        this.applyMeetingHold(runtime, m.on_hold);
        break;
      case "meeting_lock":
        runtime.locked = m.locked; // the store refuses new non-hosts; the mix is unchanged
        break;
      case "meeting_end":
        this.bg(this.endMeeting(m.meetingSid, "api"));
        break;
    }
  }

  // ---- housekeeping ----------------------------------------------------------------

  private checkTimeouts(): void {
    const now = performance.now();
    const rtpTimeout = (this.opts.rtpTimeoutSeconds ?? 30) * 1000;
    const codeTimeout = (this.opts.codeTimeoutSeconds ?? 10) * 1000;
    const lobbyTimeout = this.opts.lobbyRtpTimeoutMs ?? 5000;
    for (const c of this.calls.values()) {
      // Short at the IVR: a caller that never sends RTP (a spoofed or abandoned INVITE)
      // holds a port and a lobby slot for nothing.
      if (c.state === "ivr" && now - c.lastRtpAt > lobbyTimeout) {
        this.log(`call ${c.callSid}: no RTP at the IVR for ${Math.round(now - c.lastRtpAt)} ms`);
        this.bg(this.hangup(c, "lobby-rtp-timeout"));
        continue;
      }
      if (now - c.lastRtpAt > rtpTimeout) {
        this.log(`call ${c.callSid}: no RTP for ${Math.round((now - c.lastRtpAt) / 1000)} s`);
        this.bg(this.hangup(c, "rtp-timeout"));
        continue;
      }
      if (c.state === "ivr" && c.prompt && c.afterPrompt === "none" && c.waitingSince > 0 && c.digits === "") {
        if (now - c.waitingSince > codeTimeout) {
          c.waitingSince = 0;
          c.attempts++;
          if (c.attempts >= MAX_CODE_ATTEMPTS) this.say(c, ["goodbye"], "hangup");
          else this.say(c, ["enter-code"], "collect");
        }
      }
    }
  }

  /**
   * Redis lost its data (restarted empty) while this node mixes meetings: writes them
   * back, with their sids and state as the mix has them, so the API lists them again and
   * new callers of a room join the meeting that is running (the store holds such joins
   * back meanwhile; see `restore` in the session store). Retried while Redis does not answer.
   */
  private async restoreMeetings(): Promise<void> {
    if (this.restoring) {
      this.restoring.again = true;
      return;
    }
    this.restoring = { again: false };
    try {
      for (let attempt = 0; attempt < 10 && !this.stopped; attempt++) {
        this.restoring.again = false;
        try {
          const snapshot = this.restoreSnapshot();
          const results = await this.opts.store.restore(this.opts.nodeId, snapshot);
          const calls = snapshot.reduce((n, m) => n + m.calls.length, 0);
          this.log(`the store lost its data: restored ${results.length} meetings, ${calls} calls`);
          for (const r of results) if (!r.tookKey) this.log(`meeting ${r.meetingSid}: an older meeting holds its key`);
          if (!this.restoring.again) return;
        } catch (err) {
          this.log(`restore failed (attempt ${attempt + 1}): ${String(err)}`);
          await Bun.sleep(1000);
        }
      }
    } finally {
      this.restoring = null;
    }
  }

  /** The meetings this node mixes and their joined calls, as the mix has them now. */
  private restoreSnapshot(): RestoreMeeting[] {
    const out: RestoreMeeting[] = [];
    for (const runtime of this.meetings.values()) {
      const key = this.meetingKeys.get(runtime);
      if (runtime.ended || key === undefined) continue;
      const calls: RestoreMeeting["calls"] = [];
      for (const c of runtime.calls) {
        const stored = this.storedCalls.get(c);
        if (c.state !== "meeting" || !stored) continue;
        calls.push({
          call_sid: c.callSid,
          access_code: c.accessCode,
          codecs: stored.codecs,
          number_src: stored.number_src,
          number_dst: stored.number_dst,
          name: stored.name,
          direction: stored.direction,
          role: c.role,
          date_created: c.dateCreated,
          date_joined: stored.date_joined,
          muted: c.muted,
          on_hold: c.onHold,
          gain_level: stored.gain_level,
        });
      }
      if (calls.length === 0) continue;
      out.push({
        meetingKey: key,
        meeting_sid: runtime.meetingSid,
        account_sid: runtime.accountSid,
        meeting_room_sid: runtime.meetingRoomSid,
        date_created: runtime.dateCreated,
        locked: runtime.locked,
        on_hold: runtime.onHold,
        participant_muted: runtime.participantMuted,
        recording: runtime.recorder !== null,
        calls,
      });
    }
    return out;
  }

  private async renewLeases(ttlMs: number): Promise<void> {
    try {
      const r = await this.opts.store.renewLease(this.opts.nodeId, ttlMs);
      for (const sid of r.lost) {
        this.log(`lost the lease of meeting ${sid}`);
        await this.endMeeting(sid, "lease-lost");
      }
    } catch (err) {
      this.log(`lease renewal failed: ${String(err)}`);
    }
  }
}

/** The caller's number a carrier asserts (RFC 3325), or null. */
function assertedNumber(invite: IncomingCall): string | null {
  const pai = invite.header("p-asserted-identity");
  if (!pai) return null;
  // Several identities (a sip and a tel URI) are comma-separated; the first will do.
  const gt = pai.indexOf(">");
  const first = gt >= 0 ? pai.slice(0, gt + 1) : (pai.split(",")[0] ?? "");
  const r = parseNameAddr(first.trim());
  return r.ok ? uriUser(r.value.uri) : null;
}
