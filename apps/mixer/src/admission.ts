/**
 * Admission: an INVITE is routed, answered and seated in the lobby; the IVR asks for
 * an access code (bounded by the guess limiter), records a name for roll call, and an
 * admitted caller is placed: handed over to the node that mixes its meeting, or joined
 * here.
 */
import type { Log } from "@conf/log";
import {
  type AccessRouter,
  type JoinDecision,
  MAX_CODE_ATTEMPTS,
  refusalResponse,
  TRANSPORTS,
  type Transport,
} from "@conf/access-router";
import { CallSession, type CallMedia, callMedia, partyOf, withoutTag } from "./call.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { DomainEvents } from "./domain-events.ts";
import { type GuessKeys, GuessLimiter, guessKeys, type GuessStore, type TrustedSources } from "./guess-limiter.ts";
import type { BrowserRelay } from "./browser-relay.ts";
import type { Handover } from "./handover.ts";
import type { LobbyRecords } from "./lobby-records.ts";
import { logSafe } from "./log-safe.ts";
import { BEEP, isWebRtcOffer, negotiateAnswer, type PromptName } from "@conf/media";
import type { MeetingController } from "./meeting-controller.ts";
import type { MixGroup } from "./meeting.ts";
import type { RtpPortPool, RtpSocket } from "./rtp-socket.ts";
import { type IncomingCall, parseNameAddr, uriUser } from "@conf/sip";
import type { Voice } from "./voice.ts";
import { answerWebRtc, type WebRtcSettings } from "./webrtc/media.ts";
import { WebRtcLeg } from "./webrtc/leg.ts";

/** How long a caller may say its name for the roll call, seconds. */
const NAME_SECONDS = 2.5;
const MAX_CODE_LENGTH = 32;

export interface AdmissionParts {
  router: AccessRouter;
  sipHost: string;
  registry: CallRegistry;
  ports: RtpPortPool;
  lobby: MixGroup<CallSession>;
  voice: Voice;
  meetings: MeetingController;
  handover: Handover;
  /** Browser calls of meetings mixed elsewhere: their media relayed there. */
  relay: BrowserRelay;
  events: DomainEvents;
  /** The store's records of callers at the prompt (written on `call.entered`). */
  lobbyRecords: Pick<LobbyRecords, "ready">;
  trusted: TrustedSources;
  guesses: {
    limit: number;
    banSeconds: number;
    windowSeconds: number;
    didLimit: number;
    didDelaySeconds: number;
    store: GuessStore | null;
  };
  /** Seconds a caller may stay silent at the code prompt before it is repeated. */
  codeTimeoutSeconds: number;
  /** The node's clock of the current frame, ms. */
  now(): number;
  log: Log;
  bg(p: Promise<unknown>): void;
}

export class Admission {
  private readonly guesses: GuessLimiter;
  /** Under what each call's wrong codes are counted (set when it is answered). */
  private readonly guessKeysOf = new WeakMap<CallSession, GuessKeys>();
  /** Browser calls (WebRTC offers) are answered when set (the node sets it when it listens for SIP over WebSocket). */
  webrtc: WebRtcSettings | null = null;
  /** Every key, from RTP events, SIP INFO and the mixer's in-band detector. */
  readonly onDigit = (call: CallSession, key: string): void => this.digit(call, key);

  constructor(private readonly parts: AdmissionParts) {
    const g = parts.guesses;
    let storeErrorLogged = 0;
    this.guesses = new GuessLimiter(
      {
        limit: g.limit,
        banMs: g.banSeconds * 1000,
        windowMs: g.windowSeconds * 1000,
        didLimit: g.didLimit,
        didDelayMs: g.didDelaySeconds * 1000,
      },
      g.store,
      {
        onStoreError: (err) => {
          // Once a minute at most: Redis down means one failure per code entered.
          const t = Date.now();
          if (t - storeErrorLogged < 60_000) return;
          storeErrorLogged = t;
          parts.log.warn(`guess counts: shared store failed, using this node's (${logSafe(err)})`);
        },
      },
    );
  }

  /** The operator's carriers and SBCs: exempt from the per-source INVITE limits. */
  trusts(address: string): boolean {
    return this.parts.trusted.has(address);
  }

  /** Wrong access codes entered on this node since it started (for metrics). */
  get wrongCodes(): number {
    return this.guesses.wrongCount;
  }

  close(): Promise<void> {
    return this.guesses.close();
  }

  // ---- the INVITE ------------------------------------------------------------------

  async onInvite(invite: IncomingCall): Promise<void> {
    const { log } = this.parts;
    const dateCreated = new Date();
    const dialed = invite.dialedNumber ?? "";
    const decision = await this.parts.router.route({
      dialed,
      caller: invite.callerNumber ?? "",
      transport: viaTransport(invite),
    });
    if (decision.kind === "refuse") {
      const r = refusalResponse(decision.reason);
      log.info(
        { source: invite.source.address, reason: decision.reason },
        `refused ${logSafe(dialed)} from ${invite.source.address}: ${decision.reason}`,
      );
      invite.reject(r.sipStatus, r.sipReason);
      return;
    }
    if (!invite.sdp) {
      // We answer offers; an offerless INVITE would need our offer in the 200.
      invite.reject(488, "Not Acceptable Here");
      return;
    }
    let call: CallSession | null = null;
    const opened = await this.openMedia(
      invite.sdp,
      (buf, port, address) => call?.receive(buf, port, address, performance.now()),
      (reason) => {
        log.info(`browser media failed (${reason}); hanging up`);
        if (call && !this.parts.relay.onLegFailed(call)) this.parts.bg(this.parts.meetings.hangup(call, "webrtc"));
      },
    );
    if (!opened.ok) {
      invite.reject(opened.status, opened.status === 503 ? "Service Unavailable" : "Not Acceptable Here");
      return;
    }
    const { socket, media, answer, sessionId } = opened;
    if (invite.state !== "offered" && invite.state !== "early") {
      socket.close(); // cancelled while we looked things up
      return;
    }
    call = new CallSession(partyOf(invite), socket, media, dateCreated, this.parts.now(), this.onDigit, sessionId);
    this.guessKeysOf.set(
      call,
      guessKeys(
        {
          sourceAddress: invite.source.address,
          callerNumber: invite.callerNumber,
          assertedNumber: assertedNumber(invite),
          dialed: dialed || null,
        },
        this.parts.trusted,
      ),
    );
    invite.appData = call;
    const dialog = invite.accept(answer);
    if (!dialog) {
      socket.close();
      return;
    }
    call.answered(dialog);
    this.parts.registry.add(call);
    call.enterLobby(this.parts.lobby);
    this.parts.events.emit({
      type: "call.entered",
      callSid: call.callSid,
      accountSid: decision.kind === "join" ? decision.accountSid : decision.context.accountSid,
      numberSrc: withoutTag(call.party.from),
      numberDst: withoutTag(call.party.to),
      name: call.party.displayName,
      codecs: call.media.codec,
      dateCreated,
    });
    // Nothing is played (so nothing sent) before the ACK and the caller's own RTP: an
    // INVITE naming someone else's address must not make us stream prompts at it.
    if (decision.kind === "join") {
      call.whenReady((c) => {
        if (c.state === "ivr") this.parts.bg(this.admitted(c, decision));
      });
    } else {
      call.askForCode(decision.context);
      const clips: PromptName[] = [];
      if (decision.context.attributes.conference_greeting_enabled === "on") clips.push("welcome");
      clips.push("enter-code");
      call.whenReady((c) => {
        // Digits typed before (SIP INFO) mean the caller knows what to do.
        if (c.state === "ivr" && c.prompt && c.digits === "" && c.waitingSince === 0 && c.attempts === 0) {
          this.parts.voice.say(c, clips, "collect");
        }
      });
    }
  }

  /**
   * The call's RTP socket and the answer: a WebRTC leg for a browser's offer (DTLS-SRTP),
   * else a plain RTP socket (phones).
   */
  private async openMedia(
    offer: string,
    onPacket: (buf: Uint8Array, port: number, address: string) => void,
    onFailed: (reason: string) => void,
  ): Promise<
    { ok: true; socket: RtpSocket; media: CallMedia; answer: string; sessionId: number } | { ok: false; status: 488 | 503 }
  > {
    const { ports, sipHost, log } = this.parts;
    const sessionId = Math.floor(Math.random() * 2 ** 31);
    if (isWebRtcOffer(offer)) {
      if (!this.webrtc) return { ok: false, status: 488 };
      const m = await answerWebRtc(ports, sipHost, this.webrtc, offer, sessionId, onPacket, onFailed);
      if (!m.ok) {
        if (m.status === 503) log.warn(`no RTP port: ${m.reason}`);
        return { ok: false, status: m.status };
      }
      return { ok: true, socket: m.leg, media: callMedia(m.answer, m.ssrc), answer: m.answer.answer, sessionId };
    }
    // Where the caller's media comes from decides which RTP socket can take it.
    const offered = negotiateAnswer(offer, { address: sipHost, port: 0 });
    if (!offered.ok) return { ok: false, status: 488 };
    let socket: RtpSocket;
    try {
      socket = await ports.open(sipHost, onPacket, {
        expect: { address: offered.value.remoteAddress, port: offered.value.remotePort },
      });
    } catch (err) {
      log.warn(`no RTP port: ${String(err)}`);
      return { ok: false, status: 503 };
    }
    const neg = negotiateAnswer(offer, { address: sipHost, port: socket.port, sessionId });
    if (!neg.ok) {
      socket.close();
      return { ok: false, status: 488 };
    }
    return { ok: true, socket, media: callMedia(neg.value), answer: neg.value.answer, sessionId };
  }

  // ---- the IVR ---------------------------------------------------------------------

  onPromptDone(call: CallSession): void {
    const then = call.takeAfterPrompt();
    if (then === "hangup") this.parts.bg(this.parts.meetings.hangup(call, "ivr"));
    else if (then === "record-name") {
      call.startNameCapture(NAME_SECONDS);
      setTimeout(() => {
        call.finishNameCapture();
        const decision = call.takePendingJoin();
        if (decision && call.state === "ivr") this.parts.bg(this.place(call, decision));
      }, NAME_SECONDS * 1000);
    } else if (then === "collect") call.waitForInput(this.parts.now());
  }

  private digit(call: CallSession, key: string): void {
    if (!(call.state === "ivr" && call.prompt)) {
      this.parts.meetings.onDigit(call, key);
      return;
    }
    if (call.afterPrompt === "hangup") return;
    if (key === "#") {
      call.codeKeyed(performance.timeOrigin + performance.now());
      this.parts.bg(this.submitCode(call, call.takeDigits()));
      return;
    }
    if (key === "*") {
      call.takeDigits(); // start over
      return;
    }
    call.typeKey(key, MAX_CODE_LENGTH, this.parts.now());
    // Typing over the prompt: stop it, the caller knows what to do.
    if (call.group && call.slot >= 0) call.group.mixer.prompt(call.slot).clear();
  }

  private async submitCode(call: CallSession, code: string): Promise<void> {
    const { voice, log } = this.parts;
    const context = call.prompt;
    if (!context) return;
    const keys =
      this.guessKeysOf.get(call) ??
      guessKeys(
        { sourceAddress: call.party.sourceAddress, callerNumber: call.party.callerNumber, assertedNumber: null, dialed: null },
        this.parts.trusted,
      );
    const verdict = await this.guesses.check(keys);
    if (call.state !== "ivr") return;
    if (verdict.kind === "refuse") {
      log.warn(
        `refused code entry from ${logSafe(keys.key)}: too many wrong codes (retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s)`,
      );
      voice.say(call, ["try-later", "goodbye"], "hangup");
      return;
    }
    if (verdict.delayMs > 0) await Bun.sleep(verdict.delayMs);
    if (call.state !== "ivr") return;
    const admitted = code ? await this.parts.router.admit(context, code) : null;
    if (call.state !== "ivr") return;
    if (!admitted || admitted.kind === "refuse") {
      const attempts = call.countAttempt();
      const banned = await this.guesses.wrong(keys);
      if (banned) log.info(`${logSafe(keys.key)} reached the wrong-code limit; refused for a while`);
      if (call.state !== "ivr") return;
      if (banned || attempts >= MAX_CODE_ATTEMPTS) voice.say(call, ["wrong-code", "too-many-tries", "goodbye"], "hangup");
      else voice.say(call, ["wrong-code", "enter-code"], "collect");
      return;
    }
    await this.admitted(call, admitted);
  }

  /** Admitted: with roll call on, the caller first records its name, then joins. */
  private async admitted(call: CallSession, decision: JoinDecision): Promise<void> {
    if (decision.attributes.conference_rollcall !== "on") {
      await this.place(call, decision);
      return;
    }
    call.holdJoin(decision); // no more codes
    this.parts.voice.say(call, ["name-record"]);
    call.group?.mixer.prompt(call.slot).enqueue(BEEP);
    call.setAfterPrompt("record-name");
  }

  /**
   * Where the admitted caller's meeting is mixed: another node takes the call over, or
   * it joins here (also when the other node or the phone would not move it).
   */
  private async place(call: CallSession, decision: JoinDecision): Promise<void> {
    const handover = this.parts.handover;
    call.beginJoin(decision);
    // The store sees the caller at the prompt before it joins (the same call sid).
    await this.parts.lobbyRecords.ready(call.callSid);
    if (call.state !== "joining") return;
    const owner = await handover.ownerFor(decision.meetingKey);
    if (call.state !== "joining") return;
    if (owner !== null && owner !== handover.nodeId) {
      // A browser's media (ICE, DTLS) cannot move to another node without an ICE
      // restart: this node relays it to the owner instead (browser-relay.ts).
      let moved: boolean;
      try {
        moved =
          call.rtp instanceof WebRtcLeg
            ? await this.parts.relay.handOver(call, decision, owner)
            : await handover.handOver(call, decision, owner);
      } finally {
        handover.placed(owner);
      }
      if (moved) return;
      if (call.state !== "joining") return;
      handover.forgetPlacement(decision.meetingKey);
    }
    await this.parts.meetings.join(call, decision);
  }

  /** A silent caller at the code prompt hears it again, a few times, then goodbye. */
  checkCodeTimeout(call: CallSession, now: number): void {
    if (call.state !== "ivr" || !call.prompt || call.afterPrompt !== "none" || call.waitingSince <= 0 || call.digits !== "")
      return;
    if (now - call.waitingSince <= this.parts.codeTimeoutSeconds * 1000) return;
    call.waitForInput(0);
    if (call.countAttempt() >= MAX_CODE_ATTEMPTS) this.parts.voice.say(call, ["goodbye"], "hangup");
    else this.parts.voice.say(call, ["enter-code"], "collect");
  }
}

/** The transport the INVITE came over, as its top Via names it (a browser's: ws or wss). */
function viaTransport(invite: IncomingCall): Transport {
  const t = invite.request.via[0]?.transport.toLowerCase() ?? "udp";
  return (TRANSPORTS as readonly string[]).includes(t) ? (t as Transport) : "udp";
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
