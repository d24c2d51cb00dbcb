/**
 * One caller on this node: SIP dialog, RTP socket and streams, and where it is in its
 * life (IVR, meeting). The per-packet receive path lives here and allocates nothing.
 */
import type { JoinDecision, PromptContext } from "@conf/access-router";
import type { Role } from "@conf/call-flow";
import {
  createRtpHeader,
  decodeAlaw,
  decodeUlaw,
  DtmfReceiver,
  dtmfKey,
  G722Decoder,
  JitterBuffer,
  parseRtp,
  type RtpHeader,
  type RtpLatch,
  RtpSender,
  Upsampler2x,
} from "./media/index.ts";
import type { KeypadMatcher } from "./keypad.ts";
import type { MeetingRuntime, MixGroup } from "./meeting.ts";
import type { RtpSocket } from "./rtp-socket.ts";
import type { Dialog, IncomingCall } from "./sip/index.ts";

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
  codec: "PCMU" | "PCMA" | "G722";
  payloadType: number;
  telephoneEventPt: number | null;
  remoteAddress: string;
  remotePort: number;
  /** We send audio (false when the caller put us on hold with `inactive`/`recvonly`). */
  send: boolean;
}

const PACKET_BYTES = 12 + 320;
/** Shared by every call: parsing finishes before the next packet is handled. */
const rxHeader: RtpHeader = createRtpHeader();

export class CallSession {
  state: CallState = "ivr";
  dialog: Dialog | null = null;
  readonly sender: RtpSender;
  /** The socket's latch: which source is this caller, and where its audio goes. */
  readonly latch: RtpLatch;
  /**
   * Run once when the call may first be sent media (see `sendable`): the node starts the
   * greeting then, so the caller hears it whole and nobody else is sent it.
   */
  onReady: ((call: CallSession) => void) | null = null;
  readonly jitter = new JitterBuffer();
  private readonly dtmf = new DtmfReceiver();
  /** Outgoing packet, reused every tick. */
  readonly packet = new Uint8Array(PACKET_BYTES);
  /** The packet of a 160-byte payload (every 20 ms G.711/G.722 frame), viewed once. */
  private readonly packet160 = this.packet.subarray(0, 12 + 160);
  /** Node clock (ms) of the last valid RTP packet. */
  lastRtpAt: number;
  /** RTP packets taken from the caller (audio and events), for loss towards us. */
  rxPackets = 0;
  /** First and highest extended sequence number seen; -1: none yet. */
  private rxFirstSeq = -1;
  private rxMaxSeq = 0;
  /** Where the call's audio is mixed now (lobby or meeting) and its slot there. */
  group: MixGroup<CallSession> | null = null;
  slot = -1;
  meeting: MeetingRuntime<CallSession> | null = null;

  // IVR
  prompt: PromptContext | null = null;
  digits = "";
  attempts = 0;
  /** What to do when the caller's prompt queue finishes. */
  afterPrompt: "none" | "collect" | "hangup" | "end-meeting" | "record-name" = "none";
  /** Admitted, joining once the name is recorded (roll call). */
  pendingJoin: JoinDecision | null = null;
  /** The caller's recorded name at 16 kHz (roll call), once recorded. */
  name: Int16Array | null = null;
  private nameCapture: Int16Array | null = null;
  private nameLength = 0;
  private nameDecoder: G722Decoder | null = null;
  /** Node clock (ms) when the code prompt finished; for the no-input timeout. */
  waitingSince = 0;

  /** Keypad commands in the meeting (bindings from this call's attributes). */
  keypad: KeypadMatcher | null = null;
  /** Start-wait timer while a non-host waits for a host. */
  waitTimer: ReturnType<typeof setTimeout> | null = null;

  /** The node that answered this call and handed it over to us, and the hand-over's id. */
  handedFrom: { nodeId: string; handoverId: string } | null = null;

  /** o= of our SDP: later answers in the dialog keep the id and raise the version. */
  sdpSessionId = 0;
  sdpVersion = 1;

  // Meeting state mirrored from the store
  callSid: string;
  role: Role = "participant";
  muted = false;
  onHold = false;
  accessCode = "";

  constructor(
    readonly party: CallParty,
    readonly rtp: RtpSocket,
    readonly media: CallMedia,
    readonly dateCreated: Date,
    now: number,
    private readonly onDigit: (call: CallSession, key: string) => void,
  ) {
    this.callSid = crypto.randomUUID();
    this.sender = new RtpSender({ payloadType: media.payloadType });
    this.latch = rtp.latch;
    this.lastRtpAt = now;
  }

  /**
   * Whether media may be sent to the caller: its ACK came (the INVITE was not a spoof
   * naming someone else's address) and its own RTP latched (we send only where its
   * packets come from). Before that every frame is skipped: no reflection.
   */
  get sendable(): boolean {
    return this.latch.latched && this.dialog !== null && this.dialog.state === "confirmed";
  }

  /** Runs `onReady` if the call just became sendable (after the ACK, after a latch). */
  checkReady(): void {
    const ready = this.onReady;
    if (ready === null || !this.sendable || this.state === "ended") return;
    this.onReady = null;
    ready(this);
  }

  /**
   * Handles one datagram from the call's RTP socket, which passes only the latched
   * source's packets: the per-packet receive path.
   */
  receive(buf: Uint8Array, _port: number, _address: string, now: number): void {
    if (this.state === "ended") return;
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
    const ev = this.dtmf.receive(buf, rxHeader.payloadOffset, rxHeader.payloadLength, rxHeader.timestamp);
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
    const rate = this.media.codec === "G722" ? 16000 : 8000;
    this.nameCapture = new Int16Array(Math.round(seconds * rate));
    this.nameLength = 0;
    this.nameDecoder = this.media.codec === "G722" ? new G722Decoder() : null;
  }

  private captureName(buf: Uint8Array, off: number, len: number): void {
    const dst = this.nameCapture as Int16Array;
    const codec = this.media.codec;
    const samples = codec === "G722" ? len * 2 : len;
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
    this.nameDecoder = null;
    if (!captured || this.nameLength === 0) return;
    if (this.media.codec === "G722") {
      this.name = captured.slice(0, this.nameLength);
      return;
    }
    const out = new Int16Array(this.nameLength * 2);
    const up = new Upsampler2x();
    for (let i = 0; i < this.nameLength; i += 160) {
      const n = Math.min(160, this.nameLength - i);
      up.process(captured, i, n, out, i * 2);
    }
    this.name = out;
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
    this.rtp.send(length === 160 ? this.packet160 : p.subarray(0, 12 + length), this.latch.port, this.latch.address);
  }
}

/** The From/To header value without its tag, as the reference's number_src/number_dst show it. */
export function withoutTag(header: string): string {
  return header.replace(/;\s*tag=[^;>\s]*/i, "").trim();
}
