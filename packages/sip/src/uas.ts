/**
 * The UAS half of {@link SipUa}: answers requests (RFC 3261 8.2, 12, 13.3, 14.2, 15 as
 * they apply to a UAS). New INVITEs become {@link IncomingCall}s for the app; ACK,
 * CANCEL, BYE, INFO, OPTIONS and re-INVITEs are handled here; the per-source admission
 * holds live here too. Every response is built by `buildResponse`.
 */
import { parse as parseSdp } from "sdp-transform";
import { Dialog, type DialogHost, dialogKey } from "./dialog.ts";
import { DTMF_INFO_TYPES, type DtmfInfoType, parseDtmfInfo } from "./dtmf-info.ts";
import {
  bodyText,
  type MessageParseResult,
  type NameAddr,
  type OutgoingHeader,
  parseMessage,
  reasonPhrase,
  type SipRequest,
  salvageResponseHeaders,
  serializeResponse,
  uriUser,
} from "./message.ts";
import {
  type AdmissionTicket,
  countHeaderLines,
  DEFAULT_SOURCE_LIMITS,
  headerSectionEnd,
  SourceAdmission,
  sdpTooLarge,
} from "./limits.ts";
import {
  type Destination,
  InviteServerTransaction,
  NonInviteServerTransaction,
  type ServerTransaction,
  serverTransactionKey,
} from "./transaction.ts";
import {
  ACCEPT,
  ALLOW,
  KNOWN,
  randomHex,
  type ReinviteAnswer,
  responseVia,
  type SdpDirection,
  SUPPORTED,
  SUPPORTED_SCHEMES,
  type SipUaOptions,
  sanitizeReason,
  type UaCore,
} from "./ua-core.ts";
import { type CallHost, IncomingCall, type IncomingCallState } from "./incoming-call.ts";

/**
 * What answering needs of the calling side: it hosts the dialogs we answer (for their
 * BYE and re-INVITE) and sends a BYE that waited for the ACK. Named here rather than
 * imported from uac.ts, which builds on ua-core.ts as this file does.
 */
interface UacForUas extends DialogHost {
  sendDeferredBye(dialog: Dialog): boolean;
}

function sdpDirection(sdp: string): SdpDirection | null {
  try {
    const s = parseSdp(sdp);
    const audio = s.media.find((m) => m.type === "audio") ?? s.media[0];
    const dir = audio?.direction ?? s.direction;
    if (dir) return dir;
    const ip = audio?.connection?.ip ?? s.connection?.ip;
    return ip === "0.0.0.0" ? "sendonly" : "sendrecv";
  } catch {
    return null;
  }
}

interface ResponseOptions {
  toTag?: string;
  reason?: string;
  contact?: boolean;
  allow?: boolean;
  recordRoute?: boolean;
  sdp?: string | null;
  headers?: readonly OutgoingHeader[];
}

interface InviteContext {
  dialog: Dialog | null;
  call: IncomingCall | null;
  /** The source's hold for this INVITE (new INVITEs only). */
  ticket: AdmissionTicket | null;
}

/** @internal The UAS half of a {@link SipUa}. */
export class Uas implements CallHost {
  private readonly earlyCalls = new Map<string, IncomingCall>();
  private readonly inviteContexts = new WeakMap<InviteServerTransaction, InviteContext>();
  private readonly answerTimers = new Map<IncomingCall, ReturnType<typeof setTimeout>>();
  private readonly answerTimeoutMs: number;
  private readonly admission: SourceAdmission | null;

  constructor(
    private readonly core: UaCore,
    private readonly uac: UacForUas,
    options: SipUaOptions,
  ) {
    this.answerTimeoutMs = options.answerTimeoutMs ?? 180_000;
    const sl = options.sourceLimits;
    this.admission = sl ? new SourceAdmission(sl === true ? DEFAULT_SOURCE_LIMITS : sl, options.trustedSource) : null;
  }

  /** Stops the answer timers and forgets calls not answered yet. */
  close(): void {
    for (const t of this.answerTimers.values()) clearTimeout(t);
    this.answerTimers.clear();
    this.earlyCalls.clear();
  }

  /**
   * A datagram over the size limit: a request whose header section sits in the first
   * `maxMessageBytes` (and is not too long) gets 513, parsed without its body; the
   * rest is dropped.
   */
  tooLarge(data: Uint8Array, src: Destination): void {
    const why = `datagram of ${data.length} bytes over ${this.core.limits.maxMessageBytes}`;
    const bodyStart = headerSectionEnd(data, this.core.limits.maxMessageBytes);
    if (bodyStart < 0 || countHeaderLines(data, this.core.limits.maxHeaders) > this.core.limits.maxHeaders)
      return this.core.drop(why, src);
    const r = parseMessage(new Uint8Array(data.subarray(0, bodyStart)));
    if (r.ok) {
      const req = r.value;
      if (req.kind !== "request" || req.method === "ACK") return this.core.drop(why, src);
      this.core.send(this.buildResponse(req, src, 513), this.core.responseDestination(req.via[0], src));
      return this.core.drop(`answered 513: ${why}`, src);
    }
    this.handleParseFailure({ ...r, reason: why }, src, 513);
  }

  handleParseFailure(r: Extract<MessageParseResult, { ok: false }>, src: Destination, statusOverride?: number): void {
    if (r.keepalive) return;
    const s = r.salvage && r.salvage.method !== null && r.salvage.method !== "ACK" ? salvageResponseHeaders(r.salvage) : null;
    if (!s) return this.core.drop(r.reason, src);
    const headers: OutgoingHeader[] = [["Via", responseVia(s.topVia, src)]];
    for (const v of s.via.slice(1)) headers.push(["Via", v]);
    if (s.from !== null) headers.push(["From", s.from]);
    if (s.to !== null) headers.push(["To", /;\s*tag\s*=/i.test(s.to) ? s.to : `${s.to};tag=${randomHex(5)}`]);
    if (s.callId !== null) headers.push(["Call-ID", s.callId]);
    headers.push(["CSeq", s.cseq], ["Server", this.core.userAgent]);
    const status = statusOverride ?? r.status;
    this.core.send(
      serializeResponse(status, sanitizeReason(`${reasonPhrase(status)} (${r.reason})`), headers),
      this.core.responseDestination(s.topVia, src),
    );
    this.core.drop(`answered ${status}: ${r.reason}`, src);
  }

  private buildResponse(req: SipRequest, src: Destination, status: number, o: ResponseOptions = {}): Uint8Array {
    const headers: OutgoingHeader[] = [];
    const vias = req.headers.getAll("via");
    const top = req.via[0];
    if (top) headers.push(["Via", responseVia(top, src)]);
    for (let i = 1; i < vias.length; i++) headers.push(["Via", vias[i] as string]);
    if (o.recordRoute) for (const rr of req.headers.getAll("record-route")) headers.push(["Record-Route", rr]);
    headers.push(["From", req.headers.get("from") ?? ""]);
    let to = req.headers.get("to") ?? "";
    if (req.to.tag === null && status > 100) to += `;tag=${o.toTag ?? randomHex(5)}`;
    headers.push(["To", to], ["Call-ID", req.callId], ["CSeq", req.headers.get("cseq") ?? ""]);
    if (status === 100) {
      const ts = req.headers.get("timestamp");
      if (ts !== null) headers.push(["Timestamp", ts]);
    }
    if (o.contact) headers.push(["Contact", this.core.contactHeader(uriUser(req.requestUri))]);
    headers.push(["Server", this.core.userAgent]);
    if (o.allow) headers.push(["Allow", ALLOW]);
    if (o.headers) headers.push(...o.headers);
    if (o.sdp) headers.push(["Content-Type", "application/sdp"]);
    return serializeResponse(status, sanitizeReason(o.reason ?? reasonPhrase(status)), headers, o.sdp ?? undefined);
  }

  private respond(tx: ServerTransaction, status: number, o: ResponseOptions = {}): boolean {
    const src = this.sourceOf(tx);
    const sent = tx.respond(this.buildResponse(tx.request, src, status, o), status);
    // A failed INVITE ends its source's hold (an answered one holds until ACK and BYE).
    if (sent && status >= 300 && tx instanceof InviteServerTransaction) this.inviteContexts.get(tx)?.ticket?.end();
    return sent;
  }

  private readonly sources = new WeakMap<ServerTransaction, Destination>();
  private sourceOf(tx: ServerTransaction): Destination {
    return this.sources.get(tx) ?? tx.destination;
  }

  handleRequest(req: SipRequest, src: Destination): void {
    if (req.method === "ACK") return this.handleAck(req, src);
    const key = serverTransactionKey(req);
    const existing = this.core.layer.server.get(key);
    if (existing) return existing.receiveRetransmission();

    const dest = this.core.responseDestination(req.via[0], src);
    if (req.method === "CANCEL") return this.handleCancel(req, src, key, dest);

    let ticket: AdmissionTicket | null = null;
    if (req.method === "INVITE" && req.to.tag === null && this.admission) {
      const v = this.admission.admit(src.address);
      if (v.kind === "drop") return this.core.drop(`over the per-source limit (${v.why}): dropped`, src);
      if (v.kind === "refuse") {
        // Stateless: a flood must not cost a transaction per INVITE.
        const headers: OutgoingHeader[] = [["Retry-After", String(v.retryAfterSeconds)]];
        this.core.send(this.buildResponse(req, src, 503, { headers }), dest);
        return this.core.drop(`answered 503: over the per-source limit (${v.why})`, src);
      }
      ticket = v.ticket;
    }

    let tx: ServerTransaction;
    if (req.method === "INVITE") {
      const ctx: InviteContext = { dialog: null, call: null, ticket };
      const ist = new InviteServerTransaction(this.core.layer, key, req, dest, {
        onAckTimeout: () => {
          if (ctx.dialog) this.ackTimeout(ctx.dialog);
        },
      });
      this.inviteContexts.set(ist, ctx);
      tx = ist;
    } else tx = new NonInviteServerTransaction(this.core.layer, key, req, dest);
    this.sources.set(tx, src);
    this.core.layer.addServer(tx);

    // RFC 3261 8.2.1-8.2.2: method, URI scheme, Require.
    if (!SUPPORTED.has(req.method)) {
      this.respond(tx, KNOWN.has(req.method) ? 405 : 501, { allow: true });
      return;
    }
    if (!SUPPORTED_SCHEMES.has(req.requestUri.scheme)) {
      this.respond(tx, 416);
      return;
    }
    const required = req.headers.getAll("require").filter((v) => v.length > 0);
    if (required.length > 0) {
      this.respond(tx, 420, { headers: [["Unsupported", required.join(", ")]] });
      return;
    }
    if (req.to.tag !== null) return this.handleInDialog(req, src, tx);

    switch (req.method) {
      case "INVITE":
        return this.handleNewInvite(req, src, tx as InviteServerTransaction);
      case "OPTIONS":
        this.respond(tx, 200, {
          allow: true,
          contact: true,
          headers: [
            ["Accept", ACCEPT],
            ["Accept-Encoding", "identity"],
            ["Accept-Language", "en"],
          ],
        });
        return;
      default:
        // BYE and INFO only make sense inside a dialog.
        this.respond(tx, 481);
    }
  }

  /** 415 / 406 checks for requests whose body we must understand (INVITE, re-INVITE). */
  private rejectUnacceptableSdp(req: SipRequest, tx: ServerTransaction): boolean {
    if (req.body.length > 0 && req.contentType === "application/sdp") {
      // Counted before anyone parses the offer: 15,000 payload types cost ~60 ms to negotiate.
      const big = sdpTooLarge(bodyText(req), this.core.limits);
      if (big) {
        this.respond(tx, 488, { reason: `Not Acceptable Here (${big})` });
        return true;
      }
    }
    const enc = req.headers.getAll("content-encoding").filter((e) => e.toLowerCase() !== "identity");
    if (req.body.length > 0 && enc.length > 0) {
      this.respond(tx, 415, { headers: [["Accept-Encoding", "identity"]] });
      return true;
    }
    if (req.body.length > 0 && req.contentType !== "application/sdp") {
      this.respond(tx, 415, { headers: [["Accept", "application/sdp"]] });
      return true;
    }
    const accept = req.headers.getAll("accept");
    if (accept.length > 0) {
      const ok = accept.some((a) => {
        const t = (a.split(";")[0] ?? "").trim().toLowerCase();
        return t === "application/sdp" || t === "application/*" || t === "*/*";
      });
      if (!ok) {
        this.respond(tx, 406, { headers: [["Accept", "application/sdp"]] });
        return true;
      }
    }
    return false;
  }

  private handleNewInvite(req: SipRequest, src: Destination, tx: InviteServerTransaction): void {
    if (this.rejectUnacceptableSdp(req, tx)) return;
    const call = new IncomingCall(this, req, src, tx, randomHex(6));
    const ctx = this.inviteContexts.get(tx);
    if (ctx) ctx.call = call;
    this.respond(tx, 100);
    if (!this.core.handlers.onInvite) {
      this.reject(call, 480, undefined, []);
      return;
    }
    this.answerTimers.set(
      call,
      setTimeout(() => {
        this.answerTimers.delete(call);
        if (call.state !== "offered" && call.state !== "early") return;
        this.finishCall(call, "timed-out");
        this.respond(tx, 480, { toTag: call.localTag });
        this.core.emit("onCancel", call);
      }, this.answerTimeoutMs),
    );
    this.core.emit("onInvite", call);
  }

  private finishCall(call: IncomingCall, state: IncomingCallState): void {
    call.state = state;
    const t = this.answerTimers.get(call);
    if (t !== undefined) {
      clearTimeout(t);
      this.answerTimers.delete(call);
    }
    this.earlyCalls.delete(dialogKey(call.callId, call.localTag, call.fromAddr.tag ?? ""));
  }

  /** CallHost */
  provisional(call: IncomingCall, status: number, sdp: string | null): boolean {
    if (this.core.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return false;
    if (status === 100) {
      if (call.tx.lastStatus > 100) return false;
      return this.respond(call.tx, 100);
    }
    call.state = "early";
    this.earlyCalls.set(dialogKey(call.callId, call.localTag, call.fromAddr.tag ?? ""), call);
    return this.respond(call.tx, status, { toTag: call.localTag, contact: true, recordRoute: true, sdp });
  }

  /** CallHost */
  accept(call: IncomingCall, sdp: string): Dialog | null {
    if (this.core.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return null;
    const req = call.request;
    const contact = req.contacts.find((c): c is NameAddr => c !== "*");
    const dialog = new Dialog(this.uac, {
      role: "uas",
      callId: req.callId,
      localTag: call.localTag,
      remoteTag: req.from.tag ?? "",
      localHeader: req.headers.get("to") ?? "",
      remoteHeader: req.headers.get("from") ?? "",
      remoteTarget: contact ? contact.uri.raw : `sip:${call.source.address}:${call.source.port}`,
      routeSet: req.headers.getAll("record-route"),
      localSeq: 1 + Math.floor(Math.random() * 10000),
      remoteSeq: req.cseq.seq,
      source: call.source,
      localSdp: sdp,
      remoteSdp: call.sdp,
    });
    dialog.awaitingAck = { seq: req.cseq.seq, tx: call.tx, initial: true };
    this.core.dialogs.set(dialog.id, dialog);
    const ctx = this.inviteContexts.get(call.tx);
    if (ctx) {
      ctx.dialog = dialog;
      if (ctx.ticket) this.core.dialogTickets.set(dialog, ctx.ticket);
    }
    this.finishCall(call, "answered");
    call.dialog = dialog;
    this.respond(call.tx, 200, { toTag: call.localTag, contact: true, allow: true, recordRoute: true, sdp });
    return dialog;
  }

  /** CallHost */
  reject(call: IncomingCall, status: number, reason: string | undefined, headers: readonly OutgoingHeader[]): boolean {
    if (this.core.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return false;
    const st = Number.isInteger(status) && status >= 300 && status <= 699 ? status : 500;
    this.finishCall(call, "rejected");
    return this.respond(call.tx, st, { toTag: call.localTag, reason, headers });
  }

  private handleCancel(req: SipRequest, src: Destination, key: string, dest: Destination): void {
    const tx = new NonInviteServerTransaction(this.core.layer, key, req, dest);
    this.sources.set(tx, src);
    this.core.layer.addServer(tx);
    const invite = this.core.layer.server.get(serverTransactionKey({ ...req, method: "INVITE" }));
    if (!(invite instanceof InviteServerTransaction)) {
      this.respond(tx, 481);
      return;
    }
    const call = this.inviteContexts.get(invite)?.call ?? null;
    this.respond(tx, 200, { toTag: call?.localTag });
    if (invite.state !== "proceeding") return;
    if (call) this.finishCall(call, "cancelled");
    this.respond(invite, 487, { toTag: call?.localTag });
    if (call) this.core.emit("onCancel", call);
  }

  private handleAck(req: SipRequest, src: Destination): void {
    const ist = this.core.layer.server.get(serverTransactionKey(req));
    if (ist instanceof InviteServerTransaction) {
      const kind = ist.receiveAck();
      if (kind !== "2xx") return;
    }
    const dialog = this.core.dialogs.get(dialogKey(req.callId, req.to.tag ?? "", req.from.tag ?? ""));
    const waiting = dialog?.awaitingAck;
    if (!dialog || !waiting || waiting.seq !== req.cseq.seq) {
      if (!ist) this.core.drop("ACK matches no transaction or dialog", src);
      return;
    }
    waiting.tx.ack2xx();
    dialog.awaitingAck = null;
    if (waiting.initial) {
      dialog.state = "confirmed";
      this.core.dialogTickets.get(dialog)?.settle();
    }
    const sdp = req.contentType === "application/sdp" && req.body.length > 0 ? bodyText(req) : null;
    if (sdp !== null) dialog.remoteSdp = sdp;
    this.core.emit("onAck", dialog, { initial: waiting.initial, sdp });
    this.uac.sendDeferredBye(dialog);
  }

  private handleInDialog(req: SipRequest, src: Destination, tx: ServerTransaction): void {
    const key = dialogKey(req.callId, req.to.tag ?? "", req.from.tag ?? "");
    const dialog = this.core.dialogs.get(key);
    if (!dialog || dialog.state === "terminated") {
      const moved = this.core.moved.get(key);
      if (moved) {
        // The dialog lives on another UA now; a peer that missed the target refresh
        // (Net::SIP is one) may still send here. The app forwards hang-ups and keys
        // to the new owner; a re-INVITE would need proxying, which we do not do.
        if (req.method === "INFO") {
          this.handleInfo(moved.dialog, req, tx);
          return;
        }
        if (req.method === "OPTIONS") {
          this.respond(tx, 200, { allow: true });
          return;
        }
        if (req.method !== "BYE") {
          this.respond(tx, 481);
          return;
        }
        this.respond(tx, 200);
        this.core.forgetMoved(key);
        this.core.emit("onBye", moved.dialog);
        return;
      }
      const early = this.earlyCalls.get(key);
      if (early && req.method === "BYE" && early.tx.state === "proceeding") {
        // RFC 3261 15: a BYE on an early dialog; the INVITE gets 487.
        this.respond(tx, 200);
        this.finishCall(early, "cancelled");
        this.respond(early.tx, 487, { toTag: early.localTag });
        this.core.emit("onCancel", early);
        return;
      }
      this.respond(tx, 481);
      return;
    }
    if (dialog.remoteSeq !== null && req.cseq.seq < dialog.remoteSeq) {
      this.respond(tx, 500, { reason: "CSeq Out of Order" });
      return;
    }
    dialog.remoteSeq = req.cseq.seq;
    switch (req.method) {
      case "BYE":
        this.respond(tx, 200);
        this.core.endDialog(dialog, "bye-received");
        this.core.emit("onBye", dialog);
        return;
      case "INFO":
        return this.handleInfo(dialog, req, tx);
      case "OPTIONS":
        this.respond(tx, 200, { allow: true, contact: true, headers: [["Accept", ACCEPT]] });
        return;
      case "INVITE":
        void this.handleReinvite(dialog, req, src, tx as InviteServerTransaction);
        return;
      default:
        this.respond(tx, 405, { allow: true });
    }
  }

  private handleInfo(dialog: Dialog, req: SipRequest, tx: ServerTransaction): void {
    if (req.body.length === 0) {
      this.respond(tx, 200);
      return;
    }
    const ct = req.contentType;
    if (ct === null || !(DTMF_INFO_TYPES as readonly string[]).includes(ct)) {
      this.respond(tx, 415, { headers: [["Accept", DTMF_INFO_TYPES.join(", ")]] });
      return;
    }
    const d = parseDtmfInfo(ct as DtmfInfoType, bodyText(req));
    if (!d.ok) {
      this.respond(tx, 400, { reason: `Bad Request (${d.reason})` });
      return;
    }
    this.respond(tx, 200);
    this.core.emit("onInfoDtmf", dialog, d.digit, d.durationMs);
  }

  private async handleReinvite(dialog: Dialog, req: SipRequest, src: Destination, tx: InviteServerTransaction): Promise<void> {
    const ctx = this.inviteContexts.get(tx);
    if (ctx) ctx.dialog = dialog;
    if (dialog.reinviteOutgoing) {
      // RFC 3261 14.2: glare with our own re-INVITE; the peer retries after a random wait.
      this.respond(tx, 491);
      return;
    }
    if (dialog.reinvitePending) {
      // RFC 3261 14.2: an INVITE while the previous one has no final response.
      this.respond(tx, 500, { headers: [["Retry-After", String(Math.floor(Math.random() * 10))]] });
      return;
    }
    if (this.rejectUnacceptableSdp(req, tx)) return;
    this.respond(tx, 100);
    const sdp = req.contentType === "application/sdp" && req.body.length > 0 ? bodyText(req) : null;
    const handler = this.core.handlers.onReinvite;
    if (!handler) {
      this.respond(tx, 488);
      return;
    }
    dialog.reinvitePending = true;
    let answer: ReinviteAnswer;
    try {
      answer = await handler.call(this.core.handlers, dialog, { sdp, direction: sdp ? sdpDirection(sdp) : null, request: req });
    } catch (err) {
      this.core.reportError(err, "onReinvite");
      answer = { status: 500 };
    } finally {
      dialog.reinvitePending = false;
    }
    if (this.core.closed || tx.state !== "proceeding") return;
    if (dialog.state === "terminated") {
      // RFC 3261 15.1.2: pending requests of an ended dialog are answered, 487 recommended.
      this.respond(tx, 487);
      return;
    }
    if ("sdp" in answer) {
      const contact = req.contacts.find((c): c is NameAddr => c !== "*");
      if (contact) dialog.remoteTarget = contact.uri.raw;
      if (sdp !== null) dialog.remoteSdp = sdp;
      dialog.localSdp = answer.sdp;
      dialog.awaitingAck = { seq: req.cseq.seq, tx, initial: false };
      this.respond(tx, 200, { contact: true, allow: true, sdp: answer.sdp });
    } else {
      const st = Number.isInteger(answer.status) && answer.status >= 300 && answer.status <= 699 ? answer.status : 500;
      this.respond(tx, st, { reason: answer.reason });
    }
  }

  private ackTimeout(dialog: Dialog): void {
    if (dialog.state === "terminated" || !dialog.awaitingAck) return;
    dialog.awaitingAck = null;
    dialog.endReason = "ack-timeout";
    this.core.dialogTickets.get(dialog)?.settle();
    this.core.emit("onDialogFailed", dialog, "ack-timeout");
    // RFC 3261 13.3.1.4: the session should be ended with a BYE (the app's deferred one, or ours).
    if (!this.uac.sendDeferredBye(dialog)) void dialog.bye();
  }
}

/** Same as {@link IncomingCall}; the name the app layer's design uses. */
export type IncomingInvite = IncomingCall;

export { type CallHost, INCOMING_CALL_STATES, IncomingCall, type IncomingCallState } from "./incoming-call.ts";
