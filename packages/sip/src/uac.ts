/**
 * The UAC half of {@link SipUa}: the requests we send. Calls we place (`invite`: INVITE
 * with timer A/B, ACK for 2xx and non-2xx, CANCEL after a provisional), and inside any
 * dialog, ours or the peer's, BYE (deferred until the ACK of our 2xx) and re-INVITE.
 */
import {
  buildInDialogRequest,
  type ByeResult,
  Dialog,
  type DialogHost,
  type ReinviteOptions,
  type ReinviteResult,
} from "./dialog.ts";
import {
  bodyText,
  isSipUri,
  type NameAddr,
  type OutgoingHeader,
  parseUri,
  type SipResponse,
  serializeRequest,
} from "./message.ts";
import { type Destination, InviteClientTransaction, MAGIC_COOKIE, NonInviteClientTransaction } from "./transaction.ts";
import { ALLOW, randomHex, type UaCore } from "./ua-core.ts";

/** Options of {@link SipUa.invite}. */
export interface OutgoingInviteOptions {
  /** Request-URI, e.g. "sip:record@127.0.0.1:5080". */
  target: string;
  /** Our SDP offer. */
  sdp: string;
  /** From header value without tag; default `<sip:mixer@our-host:port>`. */
  from?: string;
  /** To header value; default `<target>`. */
  to?: string;
  /** Extra headers (e.g. X-Meeting-Id). */
  headers?: readonly OutgoingHeader[];
  /** Where to send instead of the target's host:port (an outbound proxy). */
  destination?: Destination;
  /** Each provisional response (180, 183 with SDP, ...). */
  onProvisional?(status: number, reason: string, sdp: string | null): void;
}

/** How an outgoing INVITE ended. */
export type InviteResult =
  | { ok: true; status: number; dialog: Dialog; sdp: string | null }
  | { ok: false; status: number; reason: string };

/** A call we placed. */
export interface OutgoingCall {
  readonly callId: string;
  readonly localTag: string;
  /** Settles once: 2xx (dialog, ACK sent), failure status, 408 on timer B, 0 when the UA closed. */
  readonly result: Promise<InviteResult>;
  /** CANCELs the INVITE (after the first provisional, as RFC 3261 9.1 asks). */
  cancel(): void;
  /** Times timer A re-sent the INVITE so far. */
  readonly retransmissions: number;
}

interface UacState {
  readonly callId: string;
  readonly localTag: string;
  readonly fromHeader: string;
  readonly toHeader: string;
  readonly requestUri: string;
  readonly via: string;
  readonly seq: number;
  readonly destination: Destination;
  tx: InviteClientTransaction | null;
  dialog: Dialog | null;
  ack: { bytes: Uint8Array; destination: Destination } | null;
  cancelRequested: boolean;
  cancelSent: boolean;
  settled: boolean;
  cleanup: ReturnType<typeof setTimeout> | null;
  resolve(r: InviteResult): void;
}

/** @internal The UAC half of a {@link SipUa}; the host of every dialog it holds. */
export class Uac implements DialogHost {
  private readonly uacByKey = new Map<string, UacState>();
  private readonly pendingByes = new Map<Dialog, (r: ByeResult) => void>();
  private readonly pendingReinvites = new Set<(r: ReinviteResult) => void>();

  constructor(private readonly core: UaCore) {}

  /** Settles every pending BYE, re-INVITE and INVITE with status 0 ("closed"). */
  close(): void {
    for (const resolve of this.pendingByes.values()) resolve({ ok: false, status: 0, reason: "closed" });
    this.pendingByes.clear();
    for (const settle of [...this.pendingReinvites]) settle({ ok: false, status: 0, reason: "closed" });
    for (const u of this.uacByKey.values()) {
      if (u.cleanup !== null) clearTimeout(u.cleanup);
      this.settleUac(u, { ok: false, status: 0, reason: "closed" });
    }
    this.uacByKey.clear();
  }

  /** The ACK of our 2xx came (or timed out): a BYE the app asked for meanwhile goes now. Returns whether one was waiting. */
  sendDeferredBye(dialog: Dialog): boolean {
    if (!this.core.byeAfterAck.delete(dialog)) return false;
    this.startBye(dialog);
    return true;
  }

  /** The dialog moved to another UA: a BYE deferred until the ACK resolves "moved" and is not sent. */
  dropDeferredBye(dialog: Dialog): void {
    const deferred = this.pendingByes.get(dialog);
    if (deferred) {
      this.pendingByes.delete(dialog);
      deferred({ ok: false, status: 0, reason: "moved" });
    }
  }

  /** DialogHost: sends (or defers until the ACK) our BYE. */
  sendBye(dialog: Dialog): Promise<ByeResult> {
    if (this.core.closed) return Promise.resolve({ ok: false, status: 0, reason: "closed" });
    return new Promise<ByeResult>((resolve) => {
      this.pendingByes.set(dialog, resolve);
      // RFC 3261 15: the callee must not send BYE before the ACK (or its timeout).
      if (dialog.awaitingAck?.initial) this.core.byeAfterAck.add(dialog);
      else this.startBye(dialog);
    });
  }

  startBye(dialog: Dialog): void {
    const resolve = (r: ByeResult) => {
      const f = this.pendingByes.get(dialog);
      this.pendingByes.delete(dialog);
      f?.(r);
    };
    if (dialog.state === "terminated" && dialog.endReason !== null) {
      resolve({ ok: true, status: 0 });
      return;
    }
    this.core.endDialog(dialog, "bye-sent");
    dialog.localSeq += 1;
    const branch = MAGIC_COOKIE + randomHex(8);
    const { bytes, target } = buildInDialogRequest(dialog, "BYE", dialog.localSeq, this.core.newVia(branch), [
      ["User-Agent", this.core.userAgent],
    ]);
    void this.core.inDialogDestination(dialog, target.nextHop).then((dest) => {
      if (this.core.closed) return resolve({ ok: false, status: 0, reason: "closed" });
      if (!dest) return resolve({ ok: false, status: 503, reason: "next hop not resolvable" });
      const tx = new NonInviteClientTransaction(this.core.layer, branch, "BYE", bytes, dest, {
        onResponse: (res) => {
          if (res.status >= 200)
            resolve(res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, reason: res.reason });
        },
        onTimeout: () => resolve({ ok: false, status: 408, reason: "Request Timeout" }),
      });
      this.core.layer.addClient(tx);
      tx.start();
    });
  }

  /** DialogHost: sends our re-INVITE; `Dialog.reinvite` has checked the dialog's state. */
  sendReinvite(dialog: Dialog, opts: ReinviteOptions): Promise<ReinviteResult> {
    if (this.core.closed) return Promise.resolve({ ok: false, status: 0, reason: "closed" });
    dialog.reinviteOutgoing = true;
    dialog.localSeq += 1;
    const seq = dialog.localSeq;
    const branch = MAGIC_COOKIE + randomHex(8);
    const via = this.core.newVia(branch);
    const { bytes, target } = buildInDialogRequest(
      dialog,
      "INVITE",
      seq,
      via,
      [
        ["Contact", opts.contact ?? this.core.dialogContact(dialog)],
        ["Allow", ALLOW],
        ["User-Agent", this.core.userAgent],
        ["Content-Type", "application/sdp"],
      ],
      opts.sdp,
    );
    return new Promise<ReinviteResult>((resolve) => {
      let settled = false;
      const settle = (r: ReinviteResult) => {
        if (settled) return;
        settled = true;
        dialog.reinviteOutgoing = false;
        this.pendingReinvites.delete(settle);
        resolve(r);
      };
      this.pendingReinvites.add(settle);
      void this.core.inDialogDestination(dialog, target.nextHop).then((dest) => {
        if (this.core.closed) return settle({ ok: false, status: 0, reason: "closed" });
        if (!dest) return settle({ ok: false, status: 503, reason: "next hop not resolvable" });
        // The ACK of the 2xx, kept for retransmitted 2xx: they reach this transaction
        // (Accepted state, timer M = 64*T1) even after the dialog was released.
        let ack: { bytes: Uint8Array; destination: Destination } | "pending" | null = null;
        const onResponse = (res: SipResponse) => {
          if (res.status < 200) return;
          if (res.status >= 300) return settle({ ok: false, status: res.status, reason: res.reason });
          if (ack === "pending") return;
          if (ack) return this.core.send(ack.bytes, ack.destination);
          ack = "pending";
          const sdp = res.contentType === "application/sdp" && res.body.length > 0 ? bodyText(res) : null;
          const contact = res.contacts.find((c): c is NameAddr => c !== "*");
          // RFC 3261 12.2.1.2: a 2xx to a target refresh replaces the remote target,
          // and the ACK (13.2.2.4) already goes to the new one.
          if (contact) dialog.remoteTarget = contact.uri.raw;
          dialog.localSdp = opts.sdp;
          if (sdp !== null) dialog.remoteSdp = sdp;
          const ackBranch = MAGIC_COOKIE + randomHex(8);
          const built = buildInDialogRequest(dialog, "ACK", seq, this.core.newVia(ackBranch), [
            ["User-Agent", this.core.userAgent],
          ]);
          void this.core.inDialogDestination(dialog, built.target.nextHop).then((ackDest) => {
            ack = { bytes: built.bytes, destination: ackDest ?? dest };
            this.core.send(ack.bytes, ack.destination);
            settle({ ok: true, status: res.status, sdp, contact: contact ? contact.raw : null });
          });
        };
        const tx = new InviteClientTransaction(
          this.core.layer,
          branch,
          bytes,
          dest,
          { onResponse, onTimeout: () => settle({ ok: false, status: 408, reason: "Request Timeout" }) },
          (res) =>
            // RFC 3261 17.1.1.3: the non-2xx ACK repeats the INVITE's Request-URI, Via and Route.
            serializeRequest("ACK", target.requestUri, [
              ["Via", via],
              ["Max-Forwards", "70"],
              ["From", `${dialog.localHeader};tag=${dialog.localTag}`],
              ["To", res.headers.get("to") ?? dialog.remoteHeader],
              ["Call-ID", dialog.callId],
              ["CSeq", `${seq} ACK`],
              ...target.routes.map((r): OutgoingHeader => ["Route", r]),
            ]),
          opts.timeoutMs,
        );
        this.core.layer.addClient(tx);
        tx.start();
      });
    });
  }

  /**
   * Places a call (minimal UAC): INVITE with our SDP, retransmitted with timer A until
   * a response, timer B timeout; ACK for 2xx (new transaction, via the route set) and
   * for failures (same branch).
   *
   * @example
   * const out = ua.invite({ target: "sip:rec@127.0.0.1:5080", sdp: offer });
   * const r = await out.result;
   * if (r.ok) { ...; await r.dialog.bye(); }
   */
  invite(opts: OutgoingInviteOptions): OutgoingCall {
    const callId = `${randomHex(12)}@${this.core.advertisedHost}`;
    const localTag = randomHex(6);
    let resolveResult: (r: InviteResult) => void = () => {};
    const result = new Promise<InviteResult>((r) => {
      resolveResult = r;
    });
    const target = parseUri(opts.target);
    let sent: InviteClientTransaction | null = null;
    const call: OutgoingCall = {
      callId,
      localTag,
      result,
      cancel: () => {
        const u = this.uacByKey.get(callId);
        if (u) this.cancelUac(u);
      },
      get retransmissions() {
        return sent?.retransmissions ?? 0;
      },
    };
    if (this.core.closed) {
      resolveResult({ ok: false, status: 0, reason: "closed" });
      return call;
    }
    if (!target.ok || !isSipUri(target.value)) {
      resolveResult({ ok: false, status: 416, reason: target.ok ? "target is not a sip URI" : target.reason });
      return call;
    }
    const targetUri = target.value;
    const destP = opts.destination ? Promise.resolve(opts.destination) : this.core.resolve(targetUri);
    void destP.then((dest) => {
      if (this.core.closed) return resolveResult({ ok: false, status: 0, reason: "closed" });
      if (!dest) return resolveResult({ ok: false, status: 503, reason: "target not resolvable" });
      const branch = MAGIC_COOKIE + randomHex(8);
      const seq = 1 + Math.floor(Math.random() * 10000);
      const u: UacState = {
        callId,
        localTag,
        fromHeader: opts.from ?? `<sip:mixer@${this.core.hostPort()}>`,
        toHeader: opts.to ?? `<${opts.target}>`,
        requestUri: opts.target,
        via: this.core.newVia(branch),
        seq,
        destination: dest,
        tx: null,
        dialog: null,
        ack: null,
        cancelRequested: false,
        cancelSent: false,
        settled: false,
        cleanup: null,
        resolve: resolveResult,
      };
      const headers: OutgoingHeader[] = [
        ["Via", u.via],
        ["Max-Forwards", "70"],
        ["From", `${u.fromHeader};tag=${localTag}`],
        ["To", u.toHeader],
        ["Call-ID", callId],
        ["CSeq", `${seq} INVITE`],
        ["Contact", this.core.contactHeader("mixer")],
        ["Allow", ALLOW],
        ["User-Agent", this.core.userAgent],
        ...(opts.headers ?? []),
        ["Content-Type", "application/sdp"],
      ];
      const bytes = serializeRequest("INVITE", opts.target, headers, opts.sdp);
      const tx = new InviteClientTransaction(
        this.core.layer,
        branch,
        bytes,
        dest,
        {
          onResponse: (res) => this.uacResponse(u, res, opts),
          onTimeout: () => this.settleUac(u, { ok: false, status: 408, reason: "Request Timeout" }),
        },
        (res) => this.buildNon2xxAck(u, res),
      );
      u.tx = tx;
      sent = tx;
      this.uacByKey.set(callId, u);
      this.core.layer.addClient(tx);
      tx.start();
    });
    return call;
  }

  private settleUac(u: UacState, r: InviteResult): void {
    if (u.settled) return;
    u.settled = true;
    // Keep the state while the 2xx may be retransmitted (to re-send our ACK).
    if (!r.ok) this.uacByKey.delete(u.callId);
    else u.cleanup = setTimeout(() => this.uacByKey.delete(u.callId), this.core.layer.timers.timerM);
    u.resolve(r);
  }

  private buildNon2xxAck(u: UacState, res: SipResponse): Uint8Array {
    return serializeRequest("ACK", u.requestUri, [
      ["Via", u.via],
      ["Max-Forwards", "70"],
      ["From", `${u.fromHeader};tag=${u.localTag}`],
      ["To", res.headers.get("to") ?? u.toHeader],
      ["Call-ID", u.callId],
      ["CSeq", `${u.seq} ACK`],
    ]);
  }

  private cancelUac(u: UacState): void {
    if (u.settled || u.cancelSent) return;
    u.cancelRequested = true;
    // RFC 3261 9.1: no CANCEL before a provisional response.
    if (u.tx?.state !== "proceeding") return;
    u.cancelSent = true;
    const branch = u.via.match(/branch=([^;]+)/)?.[1] ?? MAGIC_COOKIE + randomHex(8);
    const bytes = serializeRequest("CANCEL", u.requestUri, [
      ["Via", u.via],
      ["Max-Forwards", "70"],
      ["From", `${u.fromHeader};tag=${u.localTag}`],
      ["To", u.toHeader],
      ["Call-ID", u.callId],
      ["CSeq", `${u.seq} CANCEL`],
      ["User-Agent", this.core.userAgent],
    ]);
    const tx = new NonInviteClientTransaction(this.core.layer, branch, "CANCEL", bytes, u.destination, {
      onResponse: () => {},
      onTimeout: () => {},
    });
    this.core.layer.addClient(tx);
    tx.start();
  }

  private uacResponse(u: UacState, res: SipResponse, opts: OutgoingInviteOptions): void {
    const sdp = res.contentType === "application/sdp" && res.body.length > 0 ? bodyText(res) : null;
    if (res.status < 200) {
      if (u.cancelRequested && !u.cancelSent) this.cancelUac(u);
      if (opts.onProvisional) {
        try {
          opts.onProvisional(res.status, res.reason, sdp);
        } catch (err) {
          this.core.reportError(err, "onProvisional");
        }
      }
      return;
    }
    if (res.status >= 300) {
      this.settleUac(u, { ok: false, status: res.status, reason: res.reason });
      return;
    }
    const src = this.core.responseSource ?? u.destination;
    const remoteTag = res.to.tag ?? "";
    if (u.dialog) {
      // A retransmitted 2xx: our ACK got lost. (A 2xx of another fork is acknowledged too.)
      if (u.dialog.remoteTag === remoteTag && u.ack) this.core.send(u.ack.bytes, u.ack.destination);
      return;
    }
    const contact = res.contacts.find((c): c is NameAddr => c !== "*");
    const dialog = new Dialog(this, {
      role: "uac",
      callId: u.callId,
      localTag: u.localTag,
      remoteTag,
      localHeader: u.fromHeader,
      remoteHeader: res.headers.get("to") ?? u.toHeader,
      remoteTarget: contact ? contact.uri.raw : u.requestUri,
      routeSet: res.headers.getAll("record-route").reverse(),
      localSeq: u.seq,
      remoteSeq: null,
      source: src,
      localSdp: opts.sdp,
      remoteSdp: sdp,
    });
    u.dialog = dialog;
    this.core.dialogs.set(dialog.id, dialog);
    const ackBranch = MAGIC_COOKIE + randomHex(8);
    const { bytes, target } = buildInDialogRequest(dialog, "ACK", u.seq, this.core.newVia(ackBranch), [
      ["User-Agent", this.core.userAgent],
    ]);
    void this.core.destinationOf(target.nextHop).then((dest) => {
      if (this.core.closed) return;
      const d = dest ?? src;
      u.ack = { bytes, destination: d };
      this.core.send(bytes, d);
      if (u.cancelRequested) void dialog.bye();
    });
    this.settleUac(u, { ok: true, status: res.status, dialog, sdp });
  }

  /** A 2xx retransmitted after its INVITE transaction ended: re-sends our ACK. Returns whether it was one of ours. */
  reAck(res: SipResponse): boolean {
    if (res.cseq.method === "INVITE" && res.status >= 200 && res.status < 300) {
      const u = this.uacByKey.get(res.callId);
      if (u?.dialog && u.ack && u.dialog.remoteTag === (res.to.tag ?? "")) {
        this.core.send(u.ack.bytes, u.ack.destination);
        return true;
      }
    }
    return false;
  }
}
