/**
 * A small SIP user agent client over one Bun UDP socket, multiplexing many calls by Call-ID.
 *
 * Hand-written (the project keeps its SIP transaction layer its own). It implements the
 * client side of RFC 3261 that a load generator needs and no more:
 * - INVITE client transaction: timer A retransmits until any response, timer B gives up;
 *   provisional responses stop retransmission; a non-2xx final is ACKed in the transaction
 *   (same branch); a 2xx is ACKed end to end (new branch, to the Contact, with the To tag)
 *   and re-ACKed when the 200 is retransmitted.
 * - BYE as a non-INVITE client transaction (timer E, capped at T2, timer F).
 * - Server side of the dialog: the peer's BYE gets 200 and the dialog's onBye fires;
 *   OPTIONS and INFO get 200; an in-dialog INVITE (re-INVITE, e.g. a multi-process service
 *   handing the call to another node) is answered by the dialog's onReinvite with a 200 and
 *   an SDP answer, retransmitted (timer G) until its ACK or 64*T1, and its Contact becomes
 *   the remote target; a request with a lower CSeq than the peer's last gets 500 (RFC 3261
 *   12.2.2); any other method gets 501.
 */
import type { udp } from "bun";
import {
  buildRequest,
  buildResponse,
  cseqOf,
  header,
  headerParam,
  hostPortOf,
  parseSip,
  randomToken,
  uriOf,
  type SipMessage,
} from "./message.ts";

/** Destination of a request: host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** An established dialog (after 2xx to our INVITE). */
export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From header value we send (with our tag). */
  localHeader: string;
  /** To header value of the dialog (with the remote tag). */
  remoteHeader: string;
  /** Remote target: the Contact URI of the 2xx. */
  remoteTarget: string;
  /** Route set from Record-Route (reversed), as header values. */
  routeSet: string[];
  /** Our next CSeq number for in-dialog requests. */
  localSeq: number;
  /** Highest CSeq number of the peer's requests in the dialog, null before the first (RFC 3261 12.2.2). */
  remoteSeq: number | null;
  /** Our Contact URI, repeated in answers to the peer's requests. */
  localContact: string;
  state: "confirmed" | "terminated";
  /** Called once when the peer hangs up with BYE. */
  onBye?: () => void;
  /**
   * Answers the offer of a re-INVITE (synchronously). Returning ok accepts it: the 200
   * carries `sdp` and the request's Contact becomes the remote target. Without it,
   * re-INVITEs are refused with 488 and the session stays as it was.
   */
  onReinvite?: (offerSdp: string) => ReinviteAnswer;
}

/** What a dialog's onReinvite returns. */
export type ReinviteAnswer = { ok: true; sdp: string } | { ok: false; status: number; reason: string };

/** The refusal of an offer the dialog cannot take. */
export const NOT_ACCEPTABLE: ReinviteAnswer = { ok: false, status: 488, reason: "Not Acceptable Here" };

/** Timings in ms relative to the first INVITE transmission. */
export interface InviteTimings {
  sentAt: number;
  firstProvisionalMs: number | null;
  finalMs: number | null;
  retransmissions: number;
}

export type InviteOutcome =
  | { ok: true; dialog: Dialog; status: number; answerSdp: string; timings: InviteTimings }
  | { ok: false; status: number; reason: string; timings: InviteTimings };

export interface InviteOptions {
  /** Where to send the INVITE (the service's SIP address). */
  target: HostPort;
  /** User part of the Request-URI and To (the dialed number). */
  toUser: string;
  /** User part of From and Contact (the caller's number). */
  fromUser: string;
  sdp: string;
  /** Display name in From, optional. */
  displayName?: string;
  /** Called on every provisional response. */
  onProvisional?: (status: number) => void;
}

export interface UacOptions {
  /** Local bind address, also advertised in Via/Contact. Default 127.0.0.1. */
  hostname?: string;
  /** Local port, default 0 (any). */
  port?: number;
  /** RFC 3261 T1 in ms (default 500). Tests shorten it. */
  t1Ms?: number;
  /** RFC 3261 T2 in ms (default 4000). */
  t2Ms?: number;
}

interface InviteTx {
  kind: "invite";
  branch: string;
  request: string;
  dest: HostPort;
  callId: string;
  cseq: number;
  fromHeader: string;
  requestUri: string;
  /** Our Contact URI. */
  contact: string;
  timings: InviteTimings;
  timerA: ReturnType<typeof setTimeout> | null;
  timerB: ReturnType<typeof setTimeout> | null;
  /** ACK sent for a non-2xx final, kept to answer retransmissions of that final. */
  ack: string | null;
  onProvisional?: (status: number) => void;
  resolve: (o: InviteOutcome) => void;
  done: boolean;
}

interface NonInviteTx {
  kind: "non-invite";
  branch: string;
  request: string;
  dest: HostPort;
  timerE: ReturnType<typeof setTimeout> | null;
  timerF: ReturnType<typeof setTimeout> | null;
  resolve: (status: number) => void;
  done: boolean;
}

/**
 * A 2xx we sent to the peer's re-INVITE: we are its UAS, so we retransmit it (timer G,
 * T1 doubling up to T2) until the ACK arrives, for at most 64*T1 (RFC 3261 13.3.1.4).
 */
interface AnswerTx {
  key: string;
  response: string;
  dest: HostPort;
  timerG: ReturnType<typeof setTimeout> | null;
  timerH: ReturnType<typeof setTimeout> | null;
  acked: boolean;
}

/** Methods we answer; in Allow of our INVITE and our answers. */
const ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";

/** Per Call-ID record of a 2xx we ACKed, so retransmitted 200s are re-ACKed. */
interface AckRecord {
  ack: string;
  dest: HostPort;
}

/** One SIP UDP socket carrying many calls. */
export class SipUac {
  readonly hostname: string;
  readonly port: number;
  private readonly socket: udp.Socket<"buffer">;
  private readonly t1: number;
  private readonly t2: number;
  private readonly txs = new Map<string, InviteTx | NonInviteTx>();
  private readonly dialogs = new Map<string, Dialog>();
  private readonly acks = new Map<string, AckRecord>();
  /** 2xx answers to re-INVITEs awaiting their ACK, by Call-ID and CSeq number. */
  private readonly answers = new Map<string, AnswerTx>();
  /** Counters useful in reports. */
  readonly counters = {
    sent: 0,
    received: 0,
    retransmissions: 0,
    unparsable: 0,
    strayResponses: 0,
    socketErrors: 0,
    /** re-INVITEs accepted (2xx) and refused (any other final). */
    reinvites: 0,
    reinvitesRefused: 0,
    /** 2xx to a re-INVITE retransmitted, and given up on after 64*T1 without an ACK. */
    answerRetransmissions: 0,
    answerAckTimeouts: 0,
    /** Datagrams whose handling threw (a bug or a listener's error), kept from the socket loop. */
    handlerErrors: 0,
  };

  private constructor(socket: udp.Socket<"buffer">, hostname: string, t1: number, t2: number) {
    this.socket = socket;
    this.hostname = hostname;
    this.port = socket.port;
    this.t1 = t1;
    this.t2 = t2;
  }

  /** Bind the socket and start receiving. */
  static async create(opts: UacOptions = {}): Promise<SipUac> {
    const hostname = opts.hostname ?? "127.0.0.1";
    let uac: SipUac | null = null;
    const socket = await Bun.udpSocket({
      hostname,
      port: opts.port ?? 0,
      socket: {
        data(_s, data, port, address) {
          uac?.onDatagram(data, port, address);
        },
        // ICMP errors (e.g. port unreachable) surface here; timers handle the lost request.
        error() {
          if (uac) uac.counters.socketErrors++;
        },
      },
    });
    uac = new SipUac(socket, hostname, opts.t1Ms ?? 500, opts.t2Ms ?? 4000);
    return uac;
  }

  /** Live dialogs (confirmed, not yet terminated). */
  get dialogCount(): number {
    return this.dialogs.size;
  }

  close(): void {
    for (const tx of this.txs.values()) this.clearTx(tx);
    this.txs.clear();
    for (const a of this.answers.values()) this.clearAnswer(a);
    this.answers.clear();
    this.socket.close();
  }

  /** Place a call. Resolves on the final response or on timer B. */
  invite(opts: InviteOptions): Promise<InviteOutcome> {
    const callId = `${randomToken(10)}@${this.hostname}`;
    const branch = `z9hG4bK${randomToken(8)}`;
    const localTag = randomToken(6);
    const requestUri = `sip:${opts.toUser}@${opts.target.host}:${opts.target.port}`;
    const display = opts.displayName ? `"${opts.displayName}" ` : "";
    const fromHeader = `${display}<sip:${opts.fromUser}@${this.hostname}>;tag=${localTag}`;
    const toHeader = `<${requestUri}>`;
    const contact = `sip:${opts.fromUser}@${this.hostname}:${this.port}`;
    const cseq = 1;
    const request = buildRequest(
      "INVITE",
      requestUri,
      [
        ["Via", `SIP/2.0/UDP ${this.hostname}:${this.port};branch=${branch};rport`],
        ["Max-Forwards", "70"],
        ["From", fromHeader],
        ["To", toHeader],
        ["Call-ID", callId],
        ["CSeq", `${cseq} INVITE`],
        ["Contact", `<${contact}>`],
        ["Allow", ALLOW],
        ["User-Agent", "conf-loadgen"],
        ["Content-Type", "application/sdp"],
      ],
      opts.sdp,
    );
    return new Promise<InviteOutcome>((resolve) => {
      const tx: InviteTx = {
        kind: "invite",
        branch,
        request,
        dest: opts.target,
        callId,
        cseq,
        fromHeader,
        requestUri,
        contact,
        timings: { sentAt: performance.now(), firstProvisionalMs: null, finalMs: null, retransmissions: 0 },
        timerA: null,
        timerB: null,
        ack: null,
        onProvisional: opts.onProvisional,
        resolve,
        done: false,
      };
      this.txs.set(branch, tx);
      this.send(request, tx.dest);
      this.retransmit(
        Number.POSITIVE_INFINITY,
        () => {
          if (tx.done || tx.timings.firstProvisionalMs !== null) return false;
          tx.timings.retransmissions++;
          this.counters.retransmissions++;
          this.send(tx.request, tx.dest);
          return true;
        },
        (t) => (tx.timerA = t),
      );
      tx.timerB = setTimeout(() => {
        if (tx.done) return;
        tx.done = true;
        this.clearTx(tx);
        this.txs.delete(branch);
        resolve({ ok: false, status: 408, reason: "timer B: no final response", timings: tx.timings });
      }, 64 * this.t1);
    });
  }

  /** Hang up: send BYE in the dialog and resolve with the final status (408 on timer F). */
  bye(dialog: Dialog): Promise<number> {
    if (dialog.state === "terminated") return Promise.resolve(481);
    this.terminate(dialog);
    return this.request(dialog, "BYE");
  }

  private request(dialog: Dialog, method: string): Promise<number> {
    const branch = `z9hG4bK${randomToken(8)}`;
    const seq = dialog.localSeq++;
    const { dest, uri, routes } = this.inDialogTarget(dialog);
    const headers: [string, string][] = [
      ["Via", `SIP/2.0/UDP ${this.hostname}:${this.port};branch=${branch};rport`],
      ["Max-Forwards", "70"],
      ["From", dialog.localHeader],
      ["To", dialog.remoteHeader],
      ["Call-ID", dialog.callId],
      ["CSeq", `${seq} ${method}`],
    ];
    for (const r of routes) headers.push(["Route", r]);
    headers.push(["User-Agent", "conf-loadgen"]);
    const request = buildRequest(method, uri, headers);
    return new Promise<number>((resolve) => {
      const tx: NonInviteTx = {
        kind: "non-invite",
        branch,
        request,
        dest,
        timerE: null,
        timerF: null,
        resolve,
        done: false,
      };
      this.txs.set(branch, tx);
      this.send(request, dest);
      this.retransmit(
        this.t2,
        () => {
          if (tx.done) return false;
          this.counters.retransmissions++;
          this.send(tx.request, tx.dest);
          return true;
        },
        (t) => (tx.timerE = t),
      );
      tx.timerF = setTimeout(() => {
        if (tx.done) return;
        tx.done = true;
        this.clearTx(tx);
        this.txs.delete(branch);
        resolve(408);
      }, 64 * this.t1);
    });
  }

  /** Request-URI, next hop and Route headers for an in-dialog request (RFC 3261 12.2.1.1). */
  private inDialogTarget(dialog: Dialog): { dest: HostPort; uri: string; routes: string[] } {
    const first = dialog.routeSet[0];
    if (first && /;lr\b/i.test(first)) {
      const hp = hostPortOf(uriOf(first) ?? "");
      return {
        dest: hp ?? this.fallbackDest(dialog),
        uri: dialog.remoteTarget,
        routes: dialog.routeSet,
      };
    }
    return { dest: this.fallbackDest(dialog), uri: dialog.remoteTarget, routes: [] };
  }

  private fallbackDest(dialog: Dialog): HostPort {
    return hostPortOf(dialog.remoteTarget) ?? { host: "127.0.0.1", port: 5060 };
  }

  /**
   * Retransmission timer of timers A, E and G: `resend` runs after T1, then on an interval
   * doubling up to `cap`, until it returns false. `keep` holds the pending timer for clearing.
   */
  private retransmit(cap: number, resend: () => boolean, keep: (timer: ReturnType<typeof setTimeout>) => void): void {
    let interval = this.t1;
    const tick = () => {
      if (!resend()) return;
      interval = Math.min(interval * 2, cap);
      keep(setTimeout(tick, interval));
    };
    keep(setTimeout(tick, interval));
  }

  private send(text: string, dest: HostPort): void {
    this.counters.sent++;
    try {
      this.socket.send(text, dest.port, dest.host);
    } catch {
      // ECONNREFUSED from an earlier ICMP error: the retransmission timers cover it.
      this.counters.socketErrors++;
    }
  }

  private clearTx(tx: InviteTx | NonInviteTx): void {
    if (tx.kind === "invite") {
      if (tx.timerA) clearTimeout(tx.timerA);
      if (tx.timerB) clearTimeout(tx.timerB);
    } else {
      if (tx.timerE) clearTimeout(tx.timerE);
      if (tx.timerF) clearTimeout(tx.timerF);
    }
  }

  private onDatagram(data: Buffer, port: number, address: string): void {
    this.counters.received++;
    // Keep-alive CRLFs (RFC 5626) are not messages.
    if (data.length <= 4) return;
    // Whatever a datagram holds, it must not take the socket loop (and every call) down.
    try {
      const msg = parseSip(data);
      if (!msg) {
        this.counters.unparsable++;
        return;
      }
      if (msg.kind === "response") this.onResponse(msg);
      else this.onRequest(msg, { host: address, port });
    } catch {
      this.counters.handlerErrors++;
    }
  }

  /** End a dialog on our side: no more answers to retransmit, no more re-ACKs. */
  private terminate(dialog: Dialog): void {
    dialog.state = "terminated";
    this.dialogs.delete(dialog.callId);
    this.acks.delete(dialog.callId);
    for (const a of this.answers.values()) {
      if (a.key.startsWith(`${dialog.callId}\n`)) {
        this.clearAnswer(a);
        this.answers.delete(a.key);
      }
    }
  }

  private clearAnswer(a: AnswerTx): void {
    if (a.timerG) clearTimeout(a.timerG);
    if (a.timerH) clearTimeout(a.timerH);
    a.timerG = a.timerH = null;
  }

  private onResponse(msg: SipMessage): void {
    const via = header(msg, "via");
    const branch = headerParam(via, "branch");
    const cseq = cseqOf(msg);
    const tx = branch ? this.txs.get(branch) : undefined;
    if (!tx) {
      // A 2xx retransmitted after its transaction ended: re-send the ACK.
      const callId = header(msg, "call-id");
      const rec = callId ? this.acks.get(callId) : undefined;
      if (rec && cseq?.method === "INVITE" && msg.status >= 200 && msg.status < 300) {
        this.send(rec.ack, rec.dest);
      } else {
        this.counters.strayResponses++;
      }
      return;
    }
    if (tx.kind === "non-invite") {
      if (msg.status < 200 || tx.done) return;
      tx.done = true;
      this.clearTx(tx);
      this.txs.delete(tx.branch);
      tx.resolve(msg.status);
      return;
    }
    if (cseq?.method !== "INVITE") return;
    const now = performance.now() - tx.timings.sentAt;
    if (msg.status < 200) {
      if (tx.timings.firstProvisionalMs === null) tx.timings.firstProvisionalMs = now;
      if (tx.timerA) clearTimeout(tx.timerA);
      tx.timerA = null;
      tx.onProvisional?.(msg.status);
      return;
    }
    if (msg.status < 300) {
      this.on2xx(tx, msg, now);
      return;
    }
    // Non-2xx final: ACK within the transaction (same branch, To from the response).
    if (!tx.ack) {
      tx.ack = buildRequest("ACK", tx.requestUri, [
        ["Via", `SIP/2.0/UDP ${this.hostname}:${this.port};branch=${tx.branch};rport`],
        ["Max-Forwards", "70"],
        ["From", tx.fromHeader],
        ["To", header(msg, "to") ?? ""],
        ["Call-ID", tx.callId],
        ["CSeq", `${tx.cseq} ACK`],
      ]);
    }
    this.send(tx.ack, tx.dest);
    if (tx.done) return;
    tx.done = true;
    tx.timings.finalMs = now;
    this.clearTx(tx);
    // Keep the transaction a while (timer D) to absorb retransmitted finals.
    setTimeout(() => this.txs.delete(tx.branch), 32 * this.t1).unref?.();
    tx.resolve({ ok: false, status: msg.status, reason: msg.reason, timings: tx.timings });
  }

  private on2xx(tx: InviteTx, msg: SipMessage, now: number): void {
    const to = header(msg, "to") ?? "";
    const remoteTag = headerParam(to, "tag") ?? "";
    const contact = uriOf(header(msg, "contact")) ?? tx.requestUri;
    const routeSet = [...(msg.headers.get("record-route") ?? [])].reverse();
    let dialog = this.dialogs.get(tx.callId);
    if (!dialog) {
      dialog = {
        callId: tx.callId,
        localTag: headerParam(tx.fromHeader, "tag") ?? "",
        remoteTag,
        localHeader: tx.fromHeader,
        remoteHeader: to,
        remoteTarget: contact,
        routeSet,
        localSeq: tx.cseq + 1,
        remoteSeq: null,
        localContact: tx.contact,
        state: "confirmed",
      };
      if (!tx.done) this.dialogs.set(tx.callId, dialog);
    }
    const { dest, uri, routes } = this.inDialogTarget(dialog);
    const headers: [string, string][] = [
      ["Via", `SIP/2.0/UDP ${this.hostname}:${this.port};branch=z9hG4bK${randomToken(8)};rport`],
      ["Max-Forwards", "70"],
      ["From", tx.fromHeader],
      ["To", to],
      ["Call-ID", tx.callId],
      ["CSeq", `${tx.cseq} ACK`],
    ];
    for (const r of routes) headers.push(["Route", r]);
    const ack = buildRequest("ACK", uri, headers);
    this.acks.set(tx.callId, { ack, dest });
    this.send(ack, dest);
    if (tx.done) return;
    tx.done = true;
    tx.timings.finalMs = now;
    this.clearTx(tx);
    this.txs.delete(tx.branch);
    tx.resolve({ ok: true, dialog, status: msg.status, answerSdp: msg.body, timings: tx.timings });
  }

  private onRequest(msg: SipMessage, from: HostPort): void {
    // Responses go to where the request came from (rport style): the peer may send from a
    // port other than its Contact's, e.g. the node a call moved to.
    const reply = (status: number, reason: string, extra: [string, string][] = [], body = "") =>
      this.send(buildResponse(msg, status, reason, extra, body), from);
    const callId = header(msg, "call-id");
    const cseq = cseqOf(msg);
    if (msg.method === "ACK") {
      if (callId && cseq) this.onAck(callId, cseq.seq);
      return;
    }
    if (!callId || !cseq || cseq.method !== msg.method || !msg.headers.has("via")) {
      reply(400, "Bad Request");
      return;
    }
    const dialog = this.dialogs.get(callId);
    switch (msg.method) {
      case "OPTIONS":
        reply(200, "OK", [["Allow", ALLOW]]);
        return;
      case "BYE": {
        // Matched by Call-ID alone (tags unchecked): a lenient match keeps counting the
        // service's hang-ups even if it gets a tag wrong.
        if (!dialog) {
          reply(481, "Call/Transaction Does Not Exist");
          return;
        }
        reply(200, "OK");
        this.terminate(dialog);
        dialog.onBye?.();
        return;
      }
      case "INVITE":
        this.onReinvite(msg, dialog, cseq.seq, from, reply);
        return;
      case "CANCEL":
        // We never hold an INVITE unanswered, so there is nothing to cancel.
        reply(481, "Call/Transaction Does Not Exist");
        return;
      case "INFO":
        if (!dialog) {
          reply(481, "Call/Transaction Does Not Exist");
          return;
        }
        if (dialog.remoteSeq === null || cseq.seq > dialog.remoteSeq) dialog.remoteSeq = cseq.seq;
        reply(200, "OK");
        return;
      default:
        reply(501, "Not Implemented", [["Allow", ALLOW]]);
    }
  }

  /**
   * A re-INVITE: the dialog's onReinvite answers the offer. A retransmission (same CSeq as
   * an answer still awaiting its ACK) gets that answer again without asking twice.
   */
  private onReinvite(
    msg: SipMessage,
    dialog: Dialog | undefined,
    seq: number,
    from: HostPort,
    reply: (status: number, reason: string, extra?: [string, string][], body?: string) => void,
  ): void {
    const toTag = headerParam(header(msg, "to"), "tag");
    const fromTag = headerParam(header(msg, "from"), "tag");
    // A re-INVITE names both our tags; anything else is a new call, which we do not take.
    if (!dialog || toTag !== dialog.localTag || fromTag !== dialog.remoteTag) {
      reply(481, "Call/Transaction Does Not Exist");
      return;
    }
    const key = `${dialog.callId}\n${seq}`;
    const pending = this.answers.get(key);
    if (pending) {
      if (!pending.acked) this.send(pending.response, pending.dest);
      return;
    }
    if (dialog.remoteSeq !== null && seq <= dialog.remoteSeq) {
      reply(500, "Server Internal Error");
      return;
    }
    dialog.remoteSeq = seq;
    if (msg.body.length === 0) {
      // An offerless re-INVITE would want our offer in the 200 and the answer in the ACK;
      // the service always offers, so this is refused rather than half-implemented.
      this.counters.reinvitesRefused++;
      reply(488, "Not Acceptable Here", [["Warning", '399 loadgen "re-INVITE without an offer not supported"']]);
      return;
    }
    let answer: ReinviteAnswer;
    try {
      answer = dialog.onReinvite ? dialog.onReinvite(msg.body) : NOT_ACCEPTABLE;
    } catch {
      answer = { ok: false, status: 500, reason: "Server Internal Error" };
    }
    if (!answer.ok) {
      // A refused re-INVITE leaves the session and the remote target as they were (RFC 3261 14.2).
      this.counters.reinvitesRefused++;
      reply(answer.status, answer.reason);
      return;
    }
    this.counters.reinvites++;
    const contact = uriOf(header(msg, "contact"));
    if (contact) dialog.remoteTarget = contact;
    const response = buildResponse(
      msg,
      200,
      "OK",
      [
        ["Contact", `<${dialog.localContact}>`],
        ["Allow", ALLOW],
        ["Content-Type", "application/sdp"],
      ],
      answer.sdp,
    );
    const a: AnswerTx = { key, response, dest: from, timerG: null, timerH: null, acked: false };
    this.answers.set(key, a);
    this.send(response, a.dest);
    this.retransmit(
      this.t2,
      () => {
        if (a.acked) return false;
        this.counters.answerRetransmissions++;
        this.send(a.response, a.dest);
        return true;
      },
      (t) => (a.timerG = t),
    );
    a.timerH = setTimeout(() => {
      // No ACK in 64*T1. RFC 3261 13.3.1.4 would have us end the dialog; the generator
      // keeps the call (media already follows the answer) and reports the miss instead.
      this.clearAnswer(a);
      if (!a.acked) this.counters.answerAckTimeouts++;
      this.answers.delete(key);
    }, 64 * this.t1);
  }

  private onAck(callId: string, seq: number): void {
    const a = this.answers.get(`${callId}\n${seq}`);
    if (!a || a.acked) return;
    a.acked = true;
    if (a.timerG) clearTimeout(a.timerG);
    a.timerG = null;
    // Kept (timer H still runs) so a late retransmission of the INVITE is absorbed.
  }
}
