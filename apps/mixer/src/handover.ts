/**
 * Handing a call over between mixer nodes: the node that answered a call (and ran its
 * IVR) moves it to the node that mixes its meeting, so a meeting is mixed in exactly
 * one place and meetings spread over processes and cores.
 *
 * The steps travel over the store's control channel (HandoverMessage):
 *   front -> owner  offer   what the call is: party, media, the admission decision
 *   owner -> front  ready   the owner's RTP socket is open: its SDP offer and Contact
 *   front -> phone  re-INVITE with that SDP and Contact (a target refresh)
 *   front -> owner  commit  the phone said 200: the dialog's snapshot and its answer
 *   front -> owner  abort   the phone refused or the call ended; the front keeps it
 * and afterwards, for phones that keep sending in-dialog requests to the front (they
 * ignore the target refresh; Net::SIP does):
 *   front -> owner  digit   a SIP INFO key arrived at the front
 *   front -> owner  bye     the phone's BYE arrived at the front
 *   owner -> front  ended   the call is over; the front forgets the dialog
 * Bodies are validated at the edge (handover-messages.ts): another node is another process.
 */
import type { Log } from "@conf/log";
import type { JoinDecision } from "@conf/access-router";
import type { HandoverMessage, HandoverStep, SessionStore } from "@conf/session-store";
import { CallSession, callMedia, type SdpOrigin } from "./call.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { DomainEvents } from "./domain-events.ts";
import { logSafe } from "./log-safe.ts";
import { buildOffer, parseAnswer } from "@conf/media";
import {
  type HandoverOffer,
  handoverCommitSchema,
  handoverDigitSchema,
  handoverReadySchema,
  handoverOfferSchema,
  samplesFromBase64,
  samplesToBase64,
} from "./handover-messages.ts";
import type { MeetingController } from "./meeting-controller.ts";
import type { MixGroup } from "./meeting.ts";
import type { RtpPortPool, RtpSocket } from "./rtp-socket.ts";
import type { Dialog, DialogSnapshot, SipUa } from "@conf/sip";

/** How long the front keeps a handed-over dialog for phones that ignore the target refresh, ms. */
const MOVED_KEEP_MS = 12 * 3600_000;
/**
 * Failover: how far the front raises its copy's CSeq and the o= version before it
 * re-INVITEs the phone again. The lost owner may have sent requests (CSeq) and answered
 * re-INVITEs (o= version) the front never saw; a phone refuses a CSeq below one it had
 * (RFC 3261 12.2.2) and takes an unchanged o= version for an unchanged session.
 */
const FAILOVER_SEQ_STEP = 10_000;

/** A call this node handed over, as it keeps it to pass on requests (and move it again). */
export interface MovedCall {
  readonly dialogId: string;
  readonly nodeId: string;
  readonly handoverId: string;
  readonly dialog: Dialog;
  /** The offer it was handed over with (`name` taken out: it is `name` here). */
  readonly offer: HandoverOffer;
  readonly name: Int16Array | null;
}

/**
 * Where new meetings go: to the node carrying the fewest calls this front handed over
 * (round robin among equals), and to the same node for every caller of a meeting that
 * is still being set up (its first caller's hand-over may not have created it in the
 * store yet). With a `capacity` (MIXER_WORKER_CAPACITY), a caller of a meeting whose
 * owner carries that many calls goes to another node that mixes the meeting too
 * (cascade.ts): one already mixing it with room, else the least loaded one with room.
 */
export class MeetingPlacement {
  private next = 0;
  private readonly recent = new Map<string, { nodeId: string; at: number }>();
  /** Calls handed to each node and not ended yet, as this front counts them. */
  private readonly load = new Map<string, number>();
  /** Hand-overs on their way to each node (placed, not yet done): they count as load. */
  private readonly pending = new Map<string, number>();
  /** The nodes besides its owner that this front placed callers of a meeting on, by meeting key. */
  private readonly satellites = new Map<string, Set<string>>();

  constructor(
    private readonly nodes: () => readonly string[],
    private readonly holdMs = 30_000,
    private readonly capacity = 0,
  ) {}

  /** A call was handed over to `nodeId` (+1) or has ended there (-1). */
  count(nodeId: string, delta: number): void {
    bump(this.load, nodeId, delta);
  }

  /** A hand-over to `nodeId` starts (+1) or is over, whichever way (-1). */
  reserve(nodeId: string, delta: number): void {
    bump(this.pending, nodeId, delta);
  }

  /** Calls on `nodeId` as this front knows them, hand-overs under way included. */
  loadOf(nodeId: string): number {
    return (this.load.get(nodeId) ?? 0) + (this.pending.get(nodeId) ?? 0);
  }

  /**
   * The node for a new caller of a meeting `owner` mixes: the owner while it has room
   * (or there is no capacity), else a node that mixes the meeting too, else the least
   * loaded node with room; the owner when every node is full.
   */
  spill(meetingKey: string, owner: string): string {
    if (this.capacity <= 0 || this.loadOf(owner) < this.capacity) return owner;
    const live = this.nodes();
    const sats = this.satellites.get(meetingKey);
    if (sats) {
      for (const n of [...sats]) if (!live.includes(n)) sats.delete(n);
      for (const n of sats) if (this.loadOf(n) < this.capacity) return n;
    }
    let best: string | null = null;
    for (const n of live) {
      if (n === owner || this.loadOf(n) >= this.capacity) continue;
      if (best === null || this.loadOf(n) < this.loadOf(best)) best = n;
    }
    if (best === null) return owner;
    if (sats) sats.add(best);
    else this.satellites.set(meetingKey, new Set([best]));
    return best;
  }

  /** The node for a meeting that does not exist yet, or null when there is none to place on. */
  place(meetingKey: string, now: number): string | null {
    const live = this.nodes();
    const seen = this.recent.get(meetingKey);
    if (seen && now - seen.at < this.holdMs && live.includes(seen.nodeId)) return seen.nodeId;
    if (live.length === 0) return null;
    let nodeId = live[this.next++ % live.length] as string;
    for (const n of live) if (this.loadOf(n) < this.loadOf(nodeId)) nodeId = n;
    this.recent.set(meetingKey, { nodeId, at: now });
    for (const [k, v] of this.recent) if (now - v.at >= this.holdMs) this.recent.delete(k);
    // A meeting key seen again after its meeting ended starts without satellites.
    this.satellites.delete(meetingKey);
    return nodeId;
  }

  /** A hand-over to `nodeId` failed: the next caller of the meeting gets placed afresh. */
  forget(meetingKey: string): void {
    this.recent.delete(meetingKey);
    this.satellites.delete(meetingKey);
  }
}

function bump(m: Map<string, number>, key: string, delta: number): void {
  const n = (m.get(key) ?? 0) + delta;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}

export interface HandoverParts {
  store: SessionStore;
  nodeId: string;
  sipHost: string;
  registry: CallRegistry;
  ports: RtpPortPool;
  lobby: MixGroup<CallSession>;
  meetings: MeetingController;
  events: DomainEvents;
  /** Nodes to place new meetings on; null: this node mixes what it creates. */
  placement: (() => readonly string[]) | null;
  /** Calls a placement node mixes before a meeting it owns spills over to another (0: never). */
  capacity?: number;
  /** How long a hand-over step may take before the call stays here, ms. */
  timeoutMs: number;
  ua(): SipUa | null;
  sipPort(): number;
  stopped(): boolean;
  /** The node's clock of the current frame, ms. */
  now(): number;
  log: Log;
  bg(p: Promise<unknown>): void;
}

/** One node's side of every hand-over: as the front that answered, and as the owner that mixes. */
export class Handover {
  readonly nodeId: string;
  private readonly placement: MeetingPlacement | null;
  /** Our hand-overs waiting for the owner's reply, by hand-over id. */
  private readonly out = new Map<string, (m: HandoverMessage | null) => void>();
  /**
   * Calls offered to us, their RTP socket open, waiting for the phone's yes; `call` is
   * set once it commits (the socket's handler reads it from here).
   */
  private readonly incoming = new Map<
    string,
    {
      offer: HandoverOffer;
      socket: RtpSocket;
      sdpOrigin: SdpOrigin;
      timer: ReturnType<typeof setTimeout>;
      call: CallSession | null;
    }
  >();
  /** Dialogs handed over to another node, by dialog id: what still arrives here is passed on. */
  private readonly moved = new Map<string, MovedCall>();
  /** The same, by hand-over id (the owner's `ended` names it). */
  private readonly movedByHandover = new Map<string, string>();
  /** Joins of failover offers (failover.ts): the call rejoins its meeting, moved here. */
  rejoin: ((call: CallSession, decision: JoinDecision, meetingSid: string) => Promise<void>) | null = null;
  /** Calls handed over to us, by hand-over id (the front's `digit` names it), and by call sid. */
  private readonly takenOver = new Map<string, CallSession>();
  private readonly takenOverBySid = new Map<string, CallSession>();

  constructor(private readonly parts: HandoverParts) {
    this.nodeId = parts.nodeId;
    this.placement = parts.placement ? new MeetingPlacement(parts.placement, undefined, parts.capacity ?? 0) : null;
    // A call we took over ended here: the front forgets its dialog.
    parts.events.on("call.left", (e) => {
      const c = this.takenOverBySid.get(e.callSid);
      if (!c?.handedFrom) return;
      this.takenOverBySid.delete(e.callSid);
      this.takenOver.delete(c.handedFrom.handoverId);
      parts.bg(this.send(c.handedFrom.nodeId, "ended", c.handedFrom.handoverId, {}));
    });
  }

  /**
   * The node that is to mix a new caller of the meeting (its owner, or with
   * MIXER_WORKER_CAPACITY another that mixes it too), or null to mix it here. A node
   * returned counts as carrying one more call until `placed(nodeId)`.
   */
  async ownerFor(meetingKey: string): Promise<string | null> {
    const store = this.parts.store;
    // A store that does not answer: the join that follows says so to the caller.
    const meeting = await store.getMeetingByKey(meetingKey).catch(() => null);
    let nodeId: string | null = null;
    if (meeting) {
      const info = await store.getMeetingInfo(meeting.meeting_sid).catch(() => null);
      if (info) nodeId = this.placement?.spill(meetingKey, info.nodeId) ?? info.nodeId;
    }
    nodeId ??= this.placement?.place(meetingKey, performance.now()) ?? null;
    if (nodeId !== null && nodeId !== this.nodeId) this.placement?.reserve(nodeId, 1);
    return nodeId;
  }

  /** The hand-over to `nodeId` that `ownerFor` chose is over, done or not. */
  placed(nodeId: string): void {
    this.placement?.reserve(nodeId, -1);
  }

  /** A hand-over failed: the meeting's next caller is placed afresh. */
  forgetPlacement(meetingKey: string): void {
    this.placement?.forget(meetingKey);
  }

  /** Sends one step to a node; resolves to how many listen there (0: nobody). */
  send(nodeId: string, step: HandoverStep, handoverId: string, body: unknown): Promise<number> {
    return this.parts.store.control.send(nodeId, {
      type: "handover",
      meetingSid: "",
      step,
      handoverId,
      fromNodeId: this.nodeId,
      body,
    });
  }

  /** Sends a step and waits for the other node's reply; null when there is none in time. */
  request(nodeId: string, step: HandoverStep, handoverId: string, body: unknown): Promise<HandoverMessage | null> {
    return new Promise((resolve) => {
      const finish = (m: HandoverMessage | null) => {
        clearTimeout(timer);
        this.out.delete(handoverId);
        resolve(m);
      };
      const timer = setTimeout(() => finish(null), this.parts.timeoutMs);
      this.out.set(handoverId, finish);
      this.send(nodeId, step, handoverId, body).then(
        (receivers) => {
          if (receivers === 0) finish(null); // nobody listens on that node's channel
        },
        () => finish(null),
      );
    });
  }

  // ---- the front -------------------------------------------------------------------

  /**
   * Moves an admitted caller to the node that mixes its meeting: the owner opens an RTP
   * socket, we re-INVITE the phone to it with the owner's Contact, and the owner adopts
   * the dialog. False when the call should be mixed here after all (no owner answered,
   * the phone refused the re-INVITE); true when it is gone from this node.
   */
  async handOver(call: CallSession, decision: JoinDecision, nodeId: string): Promise<boolean> {
    const { log, bg } = this.parts;
    const ua = this.parts.ua();
    const dialog = call.dialog;
    if (!dialog || !ua) return false;
    const handoverId = crypto.randomUUID();
    const offer = this.offerOf(call, decision);
    const reply = await this.request(nodeId, "offer", handoverId, offer);
    const ready = reply?.step === "ready" ? handoverReadySchema.safeParse(reply.body) : null;
    if (!ready?.success) {
      log.warn(
        { call_sid: call.callSid, account_sid: decision.accountSid, node: nodeId },
        `call ${call.callSid}: node ${nodeId} did not take it (${reply ? reply.step : "no answer"}); mixing here`,
      );
      if (reply) bg(this.send(nodeId, "abort", handoverId, {}));
      return false;
    }
    if (call.state !== "joining") {
      bg(this.send(nodeId, "abort", handoverId, {}));
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
      bg(this.send(nodeId, "abort", handoverId, {}));
      if (call.state !== "joining") return true;
      log.warn(
        { call_sid: call.callSid, account_sid: decision.accountSid, node: nodeId },
        `call ${call.callSid}: the phone refused the move to ${nodeId} (${moved.ok ? "no SDP" : moved.status}); mixing here`,
      );
      return false;
    }
    const snapshot = dialog.snapshot();
    // Kept until the owner says the call ended (or for a long call's life at most), for
    // phones that ignore the target refresh and still send BYE and INFO here.
    ua.releaseDialog(dialog, MOVED_KEEP_MS);
    this.moved.set(dialog.id, {
      dialogId: dialog.id,
      nodeId,
      handoverId,
      dialog,
      offer: { ...offer, name: null },
      name: call.name,
    });
    this.placement?.count(nodeId, 1);
    this.movedByHandover.set(handoverId, dialog.id);
    setTimeout(() => this.forgetMoved(dialog.id), MOVED_KEEP_MS).unref?.();
    // Gone from here without a BYE or a leave: the owner carries on with the same call.
    call.end();
    this.parts.registry.remove(call, false);
    await this.send(nodeId, "commit", handoverId, { dialog: snapshot, answer: moved.sdp });
    log.info(
      { call_sid: call.callSid, account_sid: decision.accountSid, node: nodeId },
      `call ${call.callSid} handed over to ${nodeId}`,
    );
    return true;
  }

  /** What the owner is told of a call it takes over (`offer`): media where the caller's latch is. */
  offerOf(call: CallSession, decision: JoinDecision): HandoverOffer {
    return {
      callSid: call.callSid,
      dateCreated: call.dateCreated.toISOString(),
      party: call.party,
      media: {
        codec: call.media.codec,
        payloadType: call.media.payloadType,
        telephoneEventPt: call.media.telephoneEventPt,
        remoteAddress: call.latch.address,
        remotePort: call.latch.port,
      },
      decision: decision as unknown as HandoverOffer["decision"],
      name: call.name ? samplesToBase64(call.name) : null,
      sdpOrigin: call.nextSdpOrigin(this.parts.sipHost),
      codeKeyedAt: call.codeKeyedAt,
    };
  }

  /** A SIP INFO key on a dialog we handed over: passed on to the owner. */
  onMovedDigit(dialogId: string, digit: string): void {
    const moved = this.moved.get(dialogId);
    if (moved) this.parts.bg(this.send(moved.nodeId, "digit", moved.handoverId, { digit }));
  }

  /** A BYE (or a failed dialog) we handed over: the owner is told; false when it is not ours to pass on. */
  onMovedHangup(dialogId: string): boolean {
    const moved = this.moved.get(dialogId);
    if (!moved) return false;
    // The phone hung up on its old Contact (us) after the hand-over: tell the new owner.
    this.forgetMoved(dialogId);
    this.parts.bg(this.send(moved.nodeId, "bye", moved.handoverId, {}));
    return true;
  }

  private forgetMoved(dialogId: string): void {
    const moved = this.moved.get(dialogId);
    if (!moved) return;
    this.moved.delete(dialogId);
    this.placement?.count(moved.nodeId, -1);
    this.movedByHandover.delete(moved.handoverId);
    this.parts.ua()?.forgetReleased(moved.dialog);
  }

  // ---- failover (failover.ts decides when) -----------------------------------------

  /** The nodes this node handed calls to that are still there. */
  movedNodes(): Set<string> {
    const out = new Set<string>();
    for (const m of this.moved.values()) out.add(m.nodeId);
    return out;
  }

  /** The calls this node handed to `nodeId` that are still there. */
  movedTo(nodeId: string): MovedCall[] {
    return [...this.moved.values()].filter((m) => m.nodeId === nodeId);
  }

  /** Whether a call offered to us waits for its commit (a failover sweep must not remove it). */
  expecting(callSid: string): boolean {
    for (const p of this.incoming.values()) if (p.offer.callSid === callSid) return true;
    return false;
  }

  /** Where a meeting of `meetingKey` would be placed anew now (null: here), never on `not`. */
  placeAnew(meetingKey: string, not: string): string | null {
    this.placement?.forget(meetingKey);
    const nodeId = this.placement?.place(meetingKey, performance.now()) ?? null;
    return nodeId === not ? null : nodeId;
  }

  /** Tells a node nothing (step `ping`): the number of its listeners, 0 when it is gone. */
  ping(nodeId: string): Promise<number> {
    return this.send(nodeId, "ping", "", {});
  }

  /**
   * Failover: moves a call we handed to a node that died on to `nodeId` (this node or
   * another), as handOver does: offer, ready, re-INVITE with the new Contact and SDP (the
   * dialog's CSeq and the o= version raised past what the lost owner may have used),
   * commit. `failover` names the meeting it rejoins there; null: it joins afresh. False
   * when the call is lost: the phone gets a BYE and the dialog is forgotten.
   */
  async moveAgain(dialogId: string, nodeId: string, failover: HandoverOffer["failover"] | null): Promise<boolean> {
    const { log } = this.parts;
    const m = this.moved.get(dialogId);
    const ua = this.parts.ua();
    if (!m || !ua) return false;
    const handoverId = crypto.randomUUID();
    const origin = m.offer.sdpOrigin;
    const offer: HandoverOffer = {
      ...m.offer,
      name: m.name ? samplesToBase64(m.name) : null,
      sdpOrigin: origin && {
        ...origin,
        sessionVersion: Math.min(Number.MAX_SAFE_INTEGER, origin.sessionVersion + FAILOVER_SEQ_STEP),
      },
      codeKeyedAt: undefined,
      failover: failover ?? undefined,
    };
    const lose = (why: string, dialog: Dialog | null) => {
      log.warn({ call_sid: m.offer.callSid, node: nodeId }, `call ${m.offer.callSid} is lost in failover: ${logSafe(why)}`);
      this.forgetMoved(dialogId);
      if (dialog) this.parts.bg(dialog.bye());
      return false;
    };
    const reply = await this.request(nodeId, "offer", handoverId, offer);
    const ready = reply?.step === "ready" ? handoverReadySchema.safeParse(reply.body) : null;
    if (!ready?.success) {
      if (reply) this.parts.bg(this.send(nodeId, "abort", handoverId, {}));
      return lose(`node ${nodeId} did not take it (${reply ? reply.step : "no answer"})`, null);
    }
    if (this.moved.get(dialogId) !== m) {
      // The phone hung up on us meanwhile.
      this.parts.bg(this.send(nodeId, "abort", handoverId, {}));
      return false;
    }
    let dialog: Dialog;
    let moved: Awaited<ReturnType<Dialog["reinvite"]>>;
    try {
      // Our copy of the dialog is taken back for the re-INVITE.
      const snap = m.dialog.snapshot();
      snap.localSeq = Math.min(2 ** 31 - 1 - FAILOVER_SEQ_STEP, snap.localSeq) + FAILOVER_SEQ_STEP;
      dialog = ua.adoptDialog(snap);
    } catch (err) {
      this.parts.bg(this.send(nodeId, "abort", handoverId, {}));
      return lose(String(err), null);
    }
    try {
      moved = await dialog.reinvite({ sdp: ready.data.sdp, contact: ready.data.contact, timeoutMs: 8000 });
    } catch (err) {
      moved = { ok: false, status: 500, reason: String(err) };
    }
    if (!moved.ok || !moved.sdp) {
      this.parts.bg(this.send(nodeId, "abort", handoverId, {}));
      return lose(`the phone refused the re-INVITE (${moved.ok ? "no SDP" : moved.status})`, dialog);
    }
    const snapshot = dialog.snapshot();
    ua.releaseDialog(dialog, MOVED_KEEP_MS);
    this.movedByHandover.delete(m.handoverId);
    this.placement?.count(m.nodeId, -1);
    if (nodeId === this.nodeId) {
      // Mixed here from now on: the call's own dialog takes BYE and INFO, not this entry.
      this.moved.delete(dialogId);
    } else {
      this.moved.set(dialogId, { ...m, nodeId, handoverId, dialog, offer: { ...offer, name: null } });
      this.movedByHandover.set(handoverId, dialogId);
      this.placement?.count(nodeId, 1);
    }
    await this.send(nodeId, "commit", handoverId, { dialog: snapshot, answer: moved.sdp });
    return true;
  }

  // ---- either side -----------------------------------------------------------------

  onMessage(m: HandoverMessage): void {
    const { bg, meetings } = this.parts;
    switch (m.step) {
      case "digit": {
        const c = this.takenOver.get(m.handoverId);
        const d = handoverDigitSchema.safeParse(m.body);
        if (c && d.success) meetings.onDigit(c, d.data.digit);
        return;
      }
      case "bye": {
        // The phone hung up on the node that handed it to us (it missed the target refresh).
        const c = this.takenOver.get(m.handoverId);
        if (c) bg(meetings.hangup(c, "remote"));
        return;
      }
      case "ended": {
        const dialogId = this.movedByHandover.get(m.handoverId);
        if (dialogId) this.forgetMoved(dialogId);
        return;
      }
      case "ready":
      case "refused":
        this.out.get(m.handoverId)?.(m);
        return;
      case "offer":
        bg(this.takeOffer(m));
        return;
      case "commit":
        bg(this.takeCommit(m));
        return;
      case "abort": {
        const pending = this.incoming.get(m.handoverId);
        if (!pending) return;
        clearTimeout(pending.timer);
        pending.socket.close();
        this.incoming.delete(m.handoverId);
        return;
      }
    }
  }

  // ---- the owner -------------------------------------------------------------------

  /** Another node offers us a call of a meeting we mix (or will): open its RTP socket. */
  private async takeOffer(m: HandoverMessage): Promise<void> {
    const { log, sipHost } = this.parts;
    const refuse = (reason: string) => this.send(m.fromNodeId, "refused", m.handoverId, { reason });
    const parsed = handoverOfferSchema.safeParse(m.body);
    if (!parsed.success) {
      log.warn(`bad hand-over offer from ${logSafe(m.fromNodeId)}: ${logSafe(parsed.error.issues[0]?.message ?? "invalid")}`);
      await refuse("bad offer");
      return;
    }
    if (this.parts.stopped() || !this.parts.ua()) {
      await refuse("stopping");
      return;
    }
    const offer = parsed.data;
    let pending: { call: CallSession | null } | null = null;
    let socket: RtpSocket;
    try {
      socket = await this.parts.ports.open(
        sipHost,
        (buf, port, address) => {
          pending?.call?.receive(buf, port, address, performance.now());
        },
        { expect: { address: offer.media.remoteAddress, port: offer.media.remotePort } },
      );
    } catch (err) {
      log.warn(`no RTP port for a hand-over: ${String(err)}`);
      await refuse("no RTP port");
      return;
    }
    const sdpOrigin = offer.sdpOrigin ?? {
      sessionId: Math.floor(Math.random() * 2 ** 31),
      sessionVersion: 1,
      originAddress: sipHost,
    };
    const sdp = buildOffer({
      address: sipHost,
      port: socket.port,
      ...sdpOrigin,
      codecs: [offer.media.codec],
      opusPayloadType: offer.media.payloadType,
      telephoneEventPt: offer.media.telephoneEventPt ?? 101,
    });
    const entry = {
      offer,
      socket,
      sdpOrigin,
      call: null,
      // The front gives up on the phone long before this.
      timer: setTimeout(() => {
        this.incoming.delete(m.handoverId);
        socket.close();
      }, 20_000),
    };
    pending = entry;
    this.incoming.set(m.handoverId, entry);
    await this.send(m.fromNodeId, "ready", m.handoverId, {
      sdp,
      contact: `<sip:mixer@${sipHost}:${this.parts.sipPort()}>`,
    });
  }

  /** The phone took our SDP and Contact: adopt its dialog and join it to the meeting. */
  private async takeCommit(m: HandoverMessage): Promise<void> {
    const { log } = this.parts;
    const ua = this.parts.ua();
    const pending = this.incoming.get(m.handoverId);
    if (!pending || !ua) {
      log.warn(`hand-over ${m.handoverId} committed after it expired here; the call is lost`);
      return;
    }
    clearTimeout(pending.timer);
    this.incoming.delete(m.handoverId);
    const fail = (why: string) => {
      log.warn({ call_sid: pending.offer.callSid }, `hand-over of call ${pending.offer.callSid} failed: ${logSafe(why)}`);
      pending.socket.close();
    };
    const parsed = handoverCommitSchema.safeParse(m.body);
    if (!parsed.success) return fail("bad commit");
    const answer = parseAnswer(parsed.data.answer, [pending.offer.media.codec]);
    if (!answer.ok) return fail(`the phone's answer: ${answer.error}`);
    // A relayed browser call (browser-relay.ts) has no dialog here: its front keeps it.
    let dialog: Dialog | null = null;
    try {
      // adoptDialog checks the snapshot field by field (it came from another process).
      if (!pending.offer.relay) dialog = ua.adoptDialog(parsed.data.dialog as DialogSnapshot);
    } catch (err) {
      return fail(String(err));
    }
    const a = answer.value;
    const media = callMedia(a);
    const offer = pending.offer;
    if (a.remoteAddress !== offer.media.remoteAddress || a.remotePort !== offer.media.remotePort) {
      pending.socket.expect(a.remoteAddress, a.remotePort);
    }
    const meetings = this.parts.meetings;
    // It took its code at the front: its keys are keypad commands here.
    const call = new CallSession(
      offer.party,
      pending.socket,
      media,
      new Date(offer.dateCreated),
      this.parts.now(),
      (c, k) => meetings.onDigit(c, k),
      pending.sdpOrigin.sessionId,
      {
        callSid: offer.callSid,
        handedFrom: { nodeId: m.fromNodeId, handoverId: m.handoverId },
        name: offer.name ? samplesFromBase64(offer.name) : null,
        sdp: { version: pending.sdpOrigin.sessionVersion, address: pending.sdpOrigin.originAddress },
        codeKeyedAt: offer.codeKeyedAt,
      },
    );
    this.takenOver.set(m.handoverId, call);
    this.takenOverBySid.set(call.callSid, call);
    if (dialog) call.answered(dialog);
    else call.answeredByRelay();
    pending.call = call;
    this.parts.registry.add(call);
    call.enterLobby(this.parts.lobby);
    log.info(
      { call_sid: call.callSid, account_sid: offer.decision.accountSid },
      `call ${call.callSid} taken over from ${m.fromNodeId}`,
    );
    const decision = offer.decision as unknown as JoinDecision;
    if (offer.failover && this.rejoin) await this.rejoin(call, decision, offer.failover.meetingSid);
    else await meetings.join(call, decision);
  }
}
