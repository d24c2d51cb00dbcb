/**
 * A browser in a meeting mixed on another node or worker (MIXER_WORKERS, many nodes).
 * A phone is handed over by a re-INVITE (handover.ts); a browser's media cannot move (its
 * ICE and DTLS are bound to the front's socket, and moving them is an ICE restart that
 * browsers and our ICE-lite leg do not do). So the front keeps the browser's WebRTC leg
 * and SIP dialog, and relays its decrypted RTP as plain RTP to the node that mixes the
 * meeting, as if the browser were a phone there; what that node sends back is encrypted
 * here and sent on to the browser.
 *
 * Why a relay and not the meeting moved to the browser's front (the other way to have it
 * mixed in one place): a meeting is mixed in exactly one place whatever its callers are,
 * so nothing else changes; no phone is re-INVITEd mid-meeting when a browser joins;
 * browsers on several fronts join one meeting, which no choice of owner could serve;
 * and the hand-over's steps, keys, API control and hang-ups work as for a phone. The
 * cost: one more hop on the LAN (loopback for workers) and one RTP port per browser call
 * on the front, whose leg does the SRTP as it would anyway.
 *
 * The steps are the hand-over's (offer with `relay`, ready, commit without a dialog):
 * the owner opens its RTP socket towards the relay's and takes the call over; the
 * browser's BYE goes on as `bye`, SIP INFO keys as `digit` (RFC 4733 keys are RTP and
 * travel with the audio); the owner's `ended` (it hung the call up: API, meeting end,
 * RTP timeout) makes the front send the browser a BYE. If the owner dies, the front ends
 * the browser's call (its page can join again) rather than leave it silent.
 *
 * Per packet nothing is allocated: the owner's packets get the SSRC, sequence numbers
 * and timestamps of the front's own stream to the browser (the announced SSRC, and no
 * jump SRTP's replay window would take for old packets), rewritten in place.
 */
import type { JoinDecision } from "@conf/access-router";
import type { Log } from "@conf/log";
import { buildOffer, parseAnswer } from "@conf/media";
import type { HandoverMessage } from "@conf/session-store";
import type { CallSession } from "./call.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { Handover } from "./handover.ts";
import { handoverReadySchema } from "./handover-messages.ts";
import type { RtpPortPool, RtpSocket } from "./rtp-socket.ts";

export interface BrowserRelayParts {
  handover: Handover;
  sipHost: string;
  ports: RtpPortPool;
  registry: CallRegistry;
  log: Log;
  bg(p: Promise<unknown>): void;
}

/** A browser call whose media this front relays to the node that mixes it. */
export class RelayedCall {
  /** Where the owner's RTP socket is (its SDP). */
  ownerAddress = "";
  ownerPort = 0;
  /** Added to the owner's sequence numbers and timestamps; set by its first packet. */
  private aligned = false;
  private seqDelta = 0;
  private tsDelta = 0;
  /** Packets relayed each way (for logs and tests). */
  toOwner = 0;
  toBrowser = 0;

  constructor(
    readonly call: CallSession,
    readonly socket: RtpSocket,
    readonly nodeId: string,
    readonly handoverId: string,
  ) {}

  /** A packet of the browser (decrypted): on to the owner. */
  fromBrowser(buf: Uint8Array): void {
    if (this.ownerPort === 0) return;
    this.socket.send(buf, this.ownerPort, this.ownerAddress);
    this.toOwner++;
  }

  /** A packet of the owner: the front's stream's SSRC, sequence and timestamp, then encrypted to the browser. */
  fromOwner(buf: Uint8Array): void {
    if (buf.length < 12) return;
    const seq = ((buf[2] as number) << 8) | (buf[3] as number);
    const ts = readU32(buf, 4);
    const sender = this.call.sender;
    if (!this.aligned) {
      // Continue where the front's prompts to the browser left off.
      this.aligned = true;
      this.seqDelta = (sender.sequence - seq) & 0xffff;
      this.tsDelta = (sender.timestamp - ts) >>> 0;
    }
    const s = (seq + this.seqDelta) & 0xffff;
    buf[2] = s >>> 8;
    buf[3] = s & 0xff;
    writeU32(buf, 4, (ts + this.tsDelta) >>> 0);
    writeU32(buf, 8, sender.ssrc);
    this.call.rtp.send(buf, this.call.latch.port, this.call.latch.address);
    this.toBrowser++;
  }
}

export class BrowserRelay {
  /** Relayed calls by the browser's dialog id, and by hand-over id (the owner's `ended` names it). */
  private readonly byDialog = new Map<string, RelayedCall>();
  private readonly byHandover = new Map<string, RelayedCall>();

  constructor(private readonly parts: BrowserRelayParts) {}

  get size(): number {
    return this.byDialog.size;
  }

  /** The nodes this front relays calls to (failover.ts watches them). */
  nodes(): Set<string> {
    const out = new Set<string>();
    for (const e of this.byDialog.values()) out.add(e.nodeId);
    return out;
  }

  /**
   * Relays an admitted browser call to the node that mixes its meeting. False when it
   * should be mixed here after all (the owner did not take it); true when the owner has it.
   */
  async handOver(call: CallSession, decision: JoinDecision, nodeId: string): Promise<boolean> {
    const { handover, ports, sipHost, log, bg } = this.parts;
    const dialog = call.dialog;
    if (!dialog) return false;
    let entry: RelayedCall | null = null;
    let socket: RtpSocket;
    try {
      // Its own socket: the owner's packets are told apart by port, not by a shared socket's latch.
      socket = await ports.open(sipHost, (buf) => entry?.fromOwner(buf), { own: true });
    } catch (err) {
      log.warn({ call_sid: call.callSid }, `no RTP port to relay call ${call.callSid}: ${String(err)}`);
      return false;
    }
    const handoverId = crypto.randomUUID();
    const base = handover.offerOf(call, decision);
    const offer = { ...base, media: { ...base.media, remoteAddress: sipHost, remotePort: socket.port }, relay: true };
    const reply = await handover.request(nodeId, "offer", handoverId, offer);
    const ready = reply?.step === "ready" ? handoverReadySchema.safeParse(reply.body) : null;
    const owner = ready?.success ? parseAnswer(ready.data.sdp, [call.media.codec]) : null;
    if (!owner?.ok || call.state !== "joining") {
      socket.close();
      if (reply) bg(handover.send(nodeId, "abort", handoverId, {}));
      if (call.state !== "joining") return true;
      log.warn(
        { call_sid: call.callSid, account_sid: decision.accountSid, node: nodeId },
        `browser call ${call.callSid}: node ${nodeId} did not take it (${reply ? reply.step : "no answer"}); mixing here`,
      );
      return false;
    }
    entry = new RelayedCall(call, socket, nodeId, handoverId);
    entry.ownerAddress = owner.value.remoteAddress;
    entry.ownerPort = owner.value.remotePort;
    socket.expect(entry.ownerAddress, entry.ownerPort);
    // The relay's side of the session, as the owner would read a phone's answer.
    const answer = buildOffer({
      address: sipHost,
      port: socket.port,
      ...call.nextSdpOrigin(sipHost),
      codecs: [call.media.codec],
      opusPayloadType: call.media.payloadType,
      telephoneEventPt: call.media.telephoneEventPt,
    });
    const relayed = entry;
    call.relayTo((buf) => relayed.fromBrowser(buf));
    // Gone from this node's calls (no timeouts, no meeting here); the leg and dialog stay with the relay.
    this.parts.registry.remove(call, false);
    this.byDialog.set(dialog.id, entry);
    this.byHandover.set(handoverId, entry);
    await handover.send(nodeId, "commit", handoverId, { dialog: null, answer });
    log.info(
      { call_sid: call.callSid, account_sid: decision.accountSid, node: nodeId },
      `browser call ${call.callSid} relayed to ${nodeId}`,
    );
    return true;
  }

  /** The browser hung up (BYE, its WebSocket closed, the dialog failed): the owner is told. False: not ours. */
  onHangup(dialogId: string): boolean {
    const e = this.byDialog.get(dialogId);
    if (!e) return false;
    this.finish(e, "remote");
    this.parts.bg(this.parts.handover.send(e.nodeId, "bye", e.handoverId, {}));
    return true;
  }

  /** The browser's leg failed (ICE or DTLS gone): as a hang-up, and the browser gets a BYE. */
  onLegFailed(call: CallSession): boolean {
    const dialogId = call.dialog?.id;
    const e = dialogId ? this.byDialog.get(dialogId) : undefined;
    if (!e) return false;
    this.finish(e, "webrtc");
    this.parts.bg(this.parts.handover.send(e.nodeId, "bye", e.handoverId, {}));
    return true;
  }

  /** A SIP INFO key of a relayed browser: on to the owner. False: not ours. */
  onDigit(dialogId: string, digit: string): boolean {
    const e = this.byDialog.get(dialogId);
    if (!e) return false;
    this.parts.bg(this.parts.handover.send(e.nodeId, "digit", e.handoverId, { digit }));
    return true;
  }

  /** The owner's `ended`: the call is over there, the browser gets a BYE. False: not a relayed call's. */
  onMessage(m: HandoverMessage): boolean {
    if (m.step !== "ended") return false;
    const e = this.byHandover.get(m.handoverId);
    if (!e || e.nodeId !== m.fromNodeId) return false;
    this.finish(e, "ended");
    return true;
  }

  /** The node mixing some relayed calls is gone: they end (the browser gets a BYE and may join again). */
  nodeDied(nodeId: string): void {
    for (const e of [...this.byDialog.values()]) {
      if (e.nodeId !== nodeId) continue;
      this.parts.log.warn(
        { call_sid: e.call.callSid, node: nodeId },
        `browser call ${e.call.callSid}: its node ${nodeId} is gone`,
      );
      this.finish(e, "failover");
    }
  }

  /** The front stops: every relayed call ends, its owner told. */
  stop(): void {
    for (const e of [...this.byDialog.values()]) {
      this.finish(e, "shutdown");
      this.parts.bg(this.parts.handover.send(e.nodeId, "bye", e.handoverId, {}));
    }
  }

  private finish(e: RelayedCall, why: string): void {
    const dialog = e.call.dialog;
    if (dialog) this.byDialog.delete(dialog.id);
    this.byHandover.delete(e.handoverId);
    e.socket.close();
    e.call.end();
    if (why !== "remote" && dialog) this.parts.bg(dialog.bye());
    this.parts.log.info(
      { call_sid: e.call.callSid, node: e.nodeId, reason: why },
      `browser call ${e.call.callSid} relayed to ${e.nodeId} ended (${why}); ${e.toOwner} packets relayed to it, ${e.toBrowser} back`,
    );
  }
}

function readU32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
