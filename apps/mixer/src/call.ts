/**
 * One caller on this node: SIP dialog, RTP socket and streams, and where it is in its
 * life (IVR, meeting). The per-packet receive path lives here and allocates nothing.
 */
import type { JoinDecision, PromptContext } from "@conf/access-router";
import type { Role } from "@conf/call-flow";
import type { Call, CallInput } from "@conf/session-store";
import {
  CODEC_CLOCK_RATES,
  type CodecName,
  codecId,
  createRtpHeader,
  decodeAlaw,
  decodeUlaw,
  DtmfReceiver,
  dtmfKey,
  G722Decoder,
  JitterBuffer,
  type NegotiatedMedia,
  parseRtp,
  type RtpHeader,
  type RtpLatch,
  RtpSender,
  negotiateAnswer,
  OpusDecoder,
  Upsampler2x,
} from "@conf/media";
import type { KeypadMatcher } from "./keypad.ts";
import type { MeetingRuntime, MixGroup } from "./meeting.ts";
import type { RtpSocket } from "./rtp-socket.ts";
import type { Dialog, IncomingCall } from "@conf/sip";

/** Who called: what the node needs of the INVITE, also when the call was handed over from another node. */
export interface CallParty {
  /** From and To header values, with their tags as received. */
  from: string;
  to: string;
  displayName: string;
  callerNumber: string | null;
  /** Address the INVITE came from: the code-guess limiter's key when there is no caller number. */
  sourceAddress: string;
}

/** The party of an INVITE this node answered. */
export function partyOf(invite: IncomingCall): CallParty {
  return {
    from: invite.from,
    to: invite.to,
    displayName: invite.fromAddr.displayName ?? "",
    callerNumber: invite.callerNumber,
    sourceAddress: invite.source.address,
  };
}

export const CALL_STATES = ["ivr", "joining", "meeting", "leaving", "ended"] as const;
export type CallState = (typeof CALL_STATES)[number];

/** Negotiated media of a call. */
export interface CallMedia {
  codec: CodecName;
  /** The codec's RTP payload type (Opus's is the phone's dynamic one). */
  payloadType: number;
  telephoneEventPt: number | null;
  remoteAddress: string;
  remotePort: number;
  /** We send audio (false when the caller put us on hold with `inactive`/`recvonly`). */
  send: boolean;
  /** Our SSRC when the answer announced it (a browser's); else random. */
  ssrc?: number;
}

/** Whether our direction of an SDP exchange lets us send audio ("sendrecv" or "sendonly"). */
export function sendsAudio(direction: NegotiatedMedia["direction"]): boolean {
  return direction === "sendrecv" || direction === "sendonly";
}

/**
 * A call's media as an SDP exchange agreed on it; `ssrc` where the answer announced ours.
 * @example const media = callMedia(neg.value);
 */
export function callMedia(n: NegotiatedMedia, ssrc?: number): CallMedia {
  const media: CallMedia = {
    codec: n.codec,
    payloadType: n.payloadType,
    telephoneEventPt: n.telephoneEventPt,
    remoteAddress: n.remoteAddress,
    remotePort: n.remotePort,
    send: sendsAudio(n.direction),
  };
  if (ssrc !== undefined) media.ssrc = ssrc;
  return media;
}

/** What a caller's prompts do when they finish. */
export type AfterPrompt = "none" | "collect" | "hangup" | "end-meeting" | "record-name";

/** What a call that another node answered brings along (hand-over). */
export interface CallOrigin {
  callSid: string;
  handedFrom: { nodeId: string; handoverId: string };
  name: Int16Array | null;
  /** The o= line the phone knows from the node that answered: its version so far, and its address. */
  sdp?: { version: number; address: string };
  /** When the caller keyed its code's last key on the node that answered (epoch ms). */
  codeKeyedAt?: number;
}

/** Our o= line for the next offer or answer in a dialog. */
export interface SdpOrigin {
  sessionId: number;
  sessionVersion: number;
  originAddress: string;
}

const PACKET_BYTES = 12 + 320;
/**
 * Largest Opus payload taken from a phone, bytes: 256 kbit/s in 20 ms, far above what a
 * phone sends for 16 kHz mono (our fmtp asks for that; baresip sends ~70 bytes). A longer
 * packet is dropped and concealed.
 */
const OPUS_MAX_PAYLOAD = 640;
/** Shared by every call: parsing finishes before the next packet is handled. */
const rxHeader: RtpHeader = createRtpHeader();

export class CallSession {
  private _state: CallState = "ivr";
  private _dialog: Dialog | null = null;
  /** Taken over from a front that keeps the caller's dialog and relays its media (browser-relay.ts). */
  private relayed = false;
  /** Set on a front that relays this call's media to another node: every packet goes there instead. */
  private forward: ((buf: Uint8Array) => void) | null = null;
  readonly sender: RtpSender;
  /** The socket's latch: which source is this caller, and where its audio goes. */
  readonly latch: RtpLatch;
  /**
   * Run once when the call may first be sent media (see `sendable`): the node starts the
   * greeting then, so the caller hears it whole and nobody else is sent it.
   */
  private onReady: ((call: CallSession) => void) | null = null;
  readonly jitter: JitterBuffer;
  private readonly dtmf = new DtmfReceiver();
  /** Outgoing packet, reused every tick. */
  readonly packet = new Uint8Array(PACKET_BYTES);
  /** The packet's view per payload length, made once each (Opus payloads vary). */
  private readonly packetViews: (Uint8Array | undefined)[] = [];
  /** Node clock (ms) of the last valid RTP packet. */
  lastRtpAt: number;
  /** RTP packets taken from the caller (audio and events), for loss towards us. */
  rxPackets = 0;
  /** RTP packets sent to the caller (for metrics). */
  txPackets = 0;
  /** First and highest extended sequence number seen; -1: none yet. */
  private rxFirstSeq = -1;
  private rxMaxSeq = 0;
  /** Where the call's audio is mixed now (lobby or meeting) and its slot there. */
  private _group: MixGroup<CallSession> | null = null;
  private _slot = -1;
  private _meeting: MeetingRuntime<CallSession> | null = null;

  // IVR
  private _prompt: PromptContext | null = null;
  private _digits = "";
  private _attempts = 0;
  /** What to do when the caller's prompt queue finishes. */
  private _afterPrompt: AfterPrompt = "none";
  /** Admitted, joining once the name is recorded (roll call). */
  private pendingJoin: JoinDecision | null = null;
  /** The caller's recorded name at 16 kHz (roll call), once recorded. */
  private _name: Int16Array | null = null;
  private nameCapture: Int16Array | null = null;
  private nameLength = 0;
  private nameDecoder: G722Decoder | OpusDecoder | null = null;
  /** Node clock (ms) when the code prompt finished; for the no-input timeout. */
  private _waitingSince = 0;

  /** Keypad commands in the meeting (bindings from this call's attributes). */
  private _keypad: KeypadMatcher | null = null;
  /** Start-wait timer while a non-host waits for a host. */
  private waitTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * When the caller keyed the last key of the code that admitted it (epoch ms, 0: not
   * yet), carried along a hand-over: the start of the join time the node measures.
   */
  private _codeKeyedAt = 0;
  /** When the end of the caller's latest key press arrived here (epoch ms, 0: none yet). */
  private _keyReleasedAt = 0;

  /** The node that answered this call and handed it over to us, and the hand-over's id. */
  readonly handedFrom: { nodeId: string; handoverId: string } | null;

  /**
   * o= of our SDP: later offers and answers in the dialog, on this node or the one it is
   * handed over to, keep the id and address and raise the version (RFC 3264 section 8).
   */
  readonly sdpSessionId: number;
  private sdpVersion: number;
  /** The o= address; null: the host this node answers with. */
  private readonly sdpAddress: string | null;

  // Meeting state mirrored from the store
  readonly callSid: string;
  private _role: Role = "participant";
  private _muted = false;
  private _onHold = false;
  private _accessCode = "";
  /** The Call object the store made when the call joined (what a restore writes back). */
  private _stored: Call | null = null;

  constructor(
    readonly party: CallParty,
    readonly rtp: RtpSocket,
    readonly media: CallMedia,
    readonly dateCreated: Date,
    now: number,
    private readonly onDigit: (call: CallSession, key: string) => void,
    sdpSessionId = 0,
    origin: CallOrigin | null = null,
  ) {
    this.callSid = origin?.callSid ?? crypto.randomUUID();
    this.handedFrom = origin?.handedFrom ?? null;
    this._name = origin?.name ?? null;
    this.sdpSessionId = sdpSessionId;
    this.sdpVersion = origin?.sdp?.version ?? 1;
    this.sdpAddress = origin?.sdp?.address ?? null;
    this._codeKeyedAt = origin?.codeKeyedAt ?? 0;
    const codec = codecId(media.codec);
    const clockRate = CODEC_CLOCK_RATES[codec] as number;
    // 20 ms of the codec's RTP clock: 160, or 960 for Opus (48000 Hz).
    this.sender = new RtpSender({ payloadType: media.payloadType, samplesPerFrame: clockRate / 50, ssrc: media.ssrc });
    this.jitter = new JitterBuffer({ clockRate, maxPayload: media.codec === "OPUS" ? OPUS_MAX_PAYLOAD : 320 });
    this.latch = rtp.latch;
    this.lastRtpAt = now;
  }

  get codeKeyedAt(): number {
    return this._codeKeyedAt;
  }

  get keyReleasedAt(): number {
    return this._keyReleasedAt;
  }

  /** The caller keyed its code's last key now (epoch ms). */
  codeKeyed(at: number): void {
    this._codeKeyedAt = at;
  }

  get state(): CallState {
    return this._state;
  }
  get dialog(): Dialog | null {
    return this._dialog;
  }
  get group(): MixGroup<CallSession> | null {
    return this._group;
  }
  get slot(): number {
    return this._slot;
  }
  /** The meeting the call is in (state `meeting`, or leaving it). */
  get meeting(): MeetingRuntime<CallSession> | null {
    return this._meeting;
  }
  get prompt(): PromptContext | null {
    return this._prompt;
  }
  get digits(): string {
    return this._digits;
  }
  get attempts(): number {
    return this._attempts;
  }
  get afterPrompt(): AfterPrompt {
    return this._afterPrompt;
  }
  get name(): Int16Array | null {
    return this._name;
  }
  get waitingSince(): number {
    return this._waitingSince;
  }
  get keypad(): KeypadMatcher | null {
    return this._keypad;
  }
  get role(): Role {
    return this._role;
  }
  get muted(): boolean {
    return this._muted;
  }
  get onHold(): boolean {
    return this._onHold;
  }
  get accessCode(): string {
    return this._accessCode;
  }
  get stored(): Call | null {
    return this._stored;
  }

  /** The call as the session store takes it when it joins a meeting (a listener joins muted). */
  joinInput(): CallInput & { call_sid: string } {
    return {
      call_sid: this.callSid,
      access_code: this.accessCode,
      codecs: this.media.codec,
      number_src: withoutTag(this.party.from),
      number_dst: withoutTag(this.party.to),
      name: this.party.displayName,
      direction: "In",
      role: this.role,
      date_created: this.dateCreated,
      muted: this.role === "listener",
    };
  }

  /** The call as the API shows it (its stored Call with the state the mix has now), once joined. */
  toApi(): Call | null {
    const s = this._stored;
    return s ? { ...s, role: this._role, muted: this._muted, on_hold: this._onHold } : null;
  }

  /** The INVITE was answered: this is the call's dialog. */
  answered(dialog: Dialog): void {
    this._dialog = dialog;
  }

  /**
   * Taken over with its media relayed by the front that keeps its dialog (a browser's,
   * browser-relay.ts): sendable once the relay's packets latch, no ACK to wait for here.
   */
  answeredByRelay(): void {
    this.relayed = true;
  }

  /** From now on every packet of the caller goes to `forward` (the front relays it to the node that mixes it). */
  relayTo(forward: (buf: Uint8Array) => void): void {
    this.unseat();
    this.forward = forward;
  }

  /** The call's audio is mixed in `group` at `slot` now. */
  seat(group: MixGroup<CallSession>, slot: number): void {
    this._group = group;
    this._slot = slot;
  }

  /** Takes the call out of the mix it is in, if any. */
  unseat(): void {
    if (this._group && this._slot >= 0) this._group.remove(this._slot);
    this._group = null;
    this._slot = -1;
  }

  /** Seats the call in the lobby (IVR) mix: heard by nobody, hearing its own prompts. */
  enterLobby(lobby: MixGroup<CallSession>): void {
    const slot = lobby.mixer.addSlot({
      codec: this.media.codec,
      member: false,
      input: this.jitter,
      inbandDtmf: this.media.telephoneEventPt === null,
      send: this.media.send,
    });
    if (slot < 0) throw new Error("lobby is full");
    this.seat(lobby, slot);
    lobby.add(this, slot);
  }

  // ---- IVR ----

  /** The caller is asked for an access code of this context. */
  askForCode(context: PromptContext): void {
    this._prompt = context;
  }

  /** No more codes (admitted, refused, or off to a meeting). */
  stopAskingForCode(): void {
    this._prompt = null;
  }

  /** A key typed at the code prompt; at most `max` are kept. */
  typeKey(key: string, max: number, now: number): void {
    if (this._digits.length < max) this._digits += key;
    this._waitingSince = now;
  }

  /** The code typed so far, cleared. */
  takeDigits(): string {
    const d = this._digits;
    this._digits = "";
    return d;
  }

  /** One more failed try (a wrong code, or silence); the tries so far. */
  countAttempt(): number {
    return ++this._attempts;
  }

  /** The code prompt finished at `now` (0: not waiting for input). */
  waitForInput(now: number): void {
    this._waitingSince = now;
  }

  /** What happens when the caller's prompts finish. */
  setAfterPrompt(then: AfterPrompt): void {
    this._afterPrompt = then;
  }

  /** What was to happen after the prompts, now that they finished (reset to none). */
  takeAfterPrompt(): AfterPrompt {
    const then = this._afterPrompt;
    this._afterPrompt = "none";
    return then;
  }

  /** Admitted with roll call: joins after its name is recorded. */
  holdJoin(decision: JoinDecision): void {
    this._prompt = null;
    this.pendingJoin = decision;
  }

  takePendingJoin(): JoinDecision | null {
    const d = this.pendingJoin;
    this.pendingJoin = null;
    return d;
  }

  // ---- meeting ----

  /** On the way into a meeting with this role and code. */
  beginJoin(decision: JoinDecision): void {
    this._state = "joining";
    this._role = decision.role;
    this._accessCode = decision.accessCode ?? "";
  }

  /** The join did not happen: back at the IVR, with no more codes to try. */
  backToIvr(): void {
    this._state = "ivr";
    this._prompt = null;
  }

  /** Mute and hold as the store has them for the call. */
  mirror(muted: boolean, onHold: boolean): void {
    this._muted = muted;
    this._onHold = onHold;
  }

  /** In the meeting, at `slot` of its mix. */
  enterMeeting(meeting: MeetingRuntime<CallSession>, slot: number, keypad: KeypadMatcher, stored: Call): void {
    this._state = "meeting";
    this._stored = stored;
    this.seat(meeting, slot);
    this._meeting = meeting;
    this._keypad = keypad;
  }

  mute(muted: boolean): void {
    this._muted = muted;
  }

  hold(onHold: boolean): void {
    this._onHold = onHold;
  }

  /** Waits for a host; `timer` hangs it up if none comes. */
  waitForHost(timer: ReturnType<typeof setTimeout>): void {
    this.stopWaitingForHost();
    this.waitTimer = timer;
  }

  stopWaitingForHost(): void {
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  /** Starts hanging up; the state it was in, or null when it is already going. */
  beginLeaving(): CallState | null {
    if (this._state === "ended" || this._state === "leaving") return null;
    const was = this._state;
    this._state = "leaving";
    this.unseat();
    this.stopWaitingForHost();
    return was;
  }

  /** Gone from this node: its socket is closed. */
  end(): void {
    this.unseat();
    if (this.nameDecoder instanceof OpusDecoder) this.nameDecoder.destroy();
    this.nameDecoder = null;
    this.nameCapture = null;
    this.rtp.close();
    this._state = "ended";
  }

  /** The o= line of our next offer or answer in this dialog: same id and address, next version. */
  nextSdpOrigin(host: string): SdpOrigin {
    this.sdpVersion++;
    return { sessionId: this.sdpSessionId, sessionVersion: this.sdpVersion, originAddress: this.sdpAddress ?? host };
  }

  /**
   * A re-INVITE's offer: the answer (same codec, same o= id, next version), and the
   * media follows it (direction; a new address re-arms the latch). Null: not acceptable.
   */
  answerReinvite(sdp: string, host: string): string | null {
    const neg = negotiateAnswer(sdp, { address: host, port: this.rtp.port, ...this.nextSdpOrigin(host) }, this.media.codec);
    if (!neg.ok) return null;
    const moved = neg.value.remoteAddress !== this.media.remoteAddress || neg.value.remotePort !== this.media.remotePort;
    this.media.send = sendsAudio(neg.value.direction);
    if (moved && neg.value.remoteAddress !== "0.0.0.0") {
      this.media.remoteAddress = neg.value.remoteAddress;
      this.media.remotePort = neg.value.remotePort;
      // Re-arms the latch: the caller's packets from the new place latch it again.
      this.rtp.expect(neg.value.remoteAddress, neg.value.remotePort);
    }
    return neg.value.answer;
  }

  /**
   * Whether media may be sent to the caller: its ACK came (the INVITE was not a spoof
   * naming someone else's address) and its own RTP latched (we send only where its
   * packets come from). Before that every frame is skipped: no reflection.
   */
  get sendable(): boolean {
    return this.latch.latched && (this.relayed || (this._dialog !== null && this._dialog.state === "confirmed"));
  }

  /** Runs `ready` once, when the call may first be sent media (now, if it may already). */
  whenReady(ready: (call: CallSession) => void): void {
    this.onReady = ready;
    this.checkReady();
  }

  /** Runs `onReady` if the call just became sendable (after the ACK, after a latch). */
  checkReady(): void {
    const ready = this.onReady;
    if (ready === null || !this.sendable || this._state === "ended") return;
    this.onReady = null;
    ready(this);
  }

  /**
   * Handles one datagram from the call's RTP socket, which passes only the latched
   * source's packets: the per-packet receive path.
   */
  receive(buf: Uint8Array, _port: number, _address: string, now: number): void {
    if (this._state === "ended") return;
    if (this.forward !== null) {
      this.lastRtpAt = now;
      this.forward(buf);
      return;
    }
    if (!parseRtp(buf, 0, buf.length, rxHeader)) return;
    const pt = rxHeader.payloadType;
    const isAudio = pt === this.media.payloadType;
    const isEvent = pt === this.media.telephoneEventPt;
    if (!isAudio && !isEvent) return;
    this.lastRtpAt = now;
    if (this.onReady !== null) this.checkReady();
    this.countReceived(rxHeader.sequence);
    if (isAudio) {
      if (this.nameCapture) this.captureName(buf, rxHeader.payloadOffset, rxHeader.payloadLength);
      this.jitter.put(
        rxHeader.sequence,
        rxHeader.timestamp,
        rxHeader.ssrc,
        buf,
        rxHeader.payloadOffset,
        rxHeader.payloadLength,
        now,
      );
      return;
    }
    this.jitter.skip(rxHeader.sequence, rxHeader.ssrc);
    const ends = this.dtmf.endCount;
    const ev = this.dtmf.receive(buf, rxHeader.payloadOffset, rxHeader.payloadLength, rxHeader.timestamp);
    if (this.dtmf.endCount !== ends) this._keyReleasedAt = performance.timeOrigin + now;
    if (ev >= 0) this.onDigit(this, dtmfKey(ev));
  }

  private countReceived(seq: number): void {
    this.rxPackets++;
    if (this.rxFirstSeq < 0) {
      this.rxFirstSeq = seq;
      this.rxMaxSeq = seq;
      return;
    }
    // Forward steps of less than half the sequence space advance (wrapping); others are reordered or old.
    const step = (seq - this.rxMaxSeq) & 0xffff;
    if (step !== 0 && step < 0x8000) this.rxMaxSeq += step;
  }

  /** Packets the caller sent us by its sequence numbers (first to highest seen). */
  get rxExpected(): number {
    return this.rxFirstSeq < 0 ? 0 : this.rxMaxSeq - this.rxFirstSeq + 1;
  }

  /**
   * Starts recording the caller's name (roll call): up to `seconds` of its audio, in
   * arrival order (a name needs no jitter buffer). The buffer is allocated here, once.
   */
  startNameCapture(seconds: number): void {
    const codec = this.media.codec;
    const rate = codec === "G722" || codec === "OPUS" ? 16000 : 8000;
    this.nameCapture = new Int16Array(Math.round(seconds * rate));
    this.nameLength = 0;
    this.nameDecoder = codec === "G722" ? new G722Decoder() : codec === "OPUS" ? new OpusDecoder({ sampleRate: 16000 }) : null;
  }

  private captureName(buf: Uint8Array, off: number, len: number): void {
    const dst = this.nameCapture as Int16Array;
    const codec = this.media.codec;
    // Opus: each packet as one 20 ms frame (our answer asks for 20 ms packets).
    const samples = codec === "G722" ? len * 2 : codec === "OPUS" ? 320 : len;
    if (this.nameLength + samples > dst.length) return;
    if (codec === "PCMU") decodeUlaw(buf, off, dst, this.nameLength, len);
    else if (codec === "PCMA") decodeAlaw(buf, off, dst, this.nameLength, len);
    else this.nameDecoder?.decode(buf, off, len, dst, this.nameLength);
    this.nameLength += samples;
  }

  /** Ends the name recording; the name is kept at the mix rate (16 kHz). */
  finishNameCapture(): void {
    const captured = this.nameCapture;
    this.nameCapture = null;
    if (this.nameDecoder instanceof OpusDecoder) this.nameDecoder.destroy();
    this.nameDecoder = null;
    if (!captured || this.nameLength === 0) return;
    if (this.media.codec === "G722" || this.media.codec === "OPUS") {
      this._name = captured.slice(0, this.nameLength);
      return;
    }
    const out = new Int16Array(this.nameLength * 2);
    const up = new Upsampler2x();
    for (let i = 0; i < this.nameLength; i += 160) {
      const n = Math.min(160, this.nameLength - i);
      up.process(captured, i, n, out, i * 2);
    }
    this._name = out;
  }

  /** Sends this tick's payload from `arena`, or lets RTP time pass when there is none. */
  sendFrame(arena: Uint8Array, offset: number, length: number): void {
    if (length <= 0 || !this.media.send || !this.sendable) {
      this.sender.skip();
      return;
    }
    const p = this.packet;
    this.sender.writeHeader(p, 0);
    // A plain loop: `set(arena.subarray(...))` would allocate a view per packet.
    for (let i = 0; i < length; i++) p[12 + i] = arena[offset + i] as number;
    let view = this.packetViews[length];
    if (view === undefined) {
      view = p.subarray(0, 12 + length);
      this.packetViews[length] = view;
    }
    this.rtp.send(view, this.latch.port, this.latch.address);
    this.txPackets++;
  }
}

/** The From/To header value without its tag, as the reference's number_src/number_dst show it. */
export function withoutTag(header: string): string {
  return header.replace(/;\s*tag=[^;>\s]*/i, "").trim();
}
