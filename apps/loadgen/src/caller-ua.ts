/**
 * The generator's SIP side: the shared `SipUa` (@conf/sip) set up as a caller. Many calls
 * share its one socket; each call's dialog gets its own hang-up and re-INVITE callbacks;
 * what the socket did is counted for the report. A caller takes no calls (INVITEs get
 * 480, there is no onInvite).
 */
import { type Dialog, type ReinviteAnswer, SipUa } from "@conf/sip";

/** Where to send a request: host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** What one call's dialog wants to hear about. */
export interface DialogCallbacks {
  /** The peer hung up with BYE. */
  onBye?(): void;
  /**
   * Answers a re-INVITE's offer (synchronously). Without it, and for a re-INVITE without
   * an offer, the answer is 488 and the session stays as it was; a throw answers 500.
   */
  onReinvite?(offerSdp: string): ReinviteAnswer;
  /** Our 2xx to a re-INVITE got no ACK within 64*T1: the stack has sent a BYE. */
  onFailed?(): void;
}

/** The refusal of an offer the call cannot take. */
export const NOT_ACCEPTABLE: ReinviteAnswer = { status: 488, reason: "Not Acceptable Here" };

/** What the socket counted (the report's `sip`). */
export interface SipCounters {
  /** Datagrams sent and received. */
  sent: number;
  received: number;
  /** Requests re-sent by timers A and E. */
  retransmissions: number;
  /** Final responses to re-INVITEs re-sent by timer G until their ACK. */
  answerRetransmissions: number;
  /** Datagrams dropped: unparsable or over a limit, and responses matching no transaction. */
  unparsable: number;
  strayResponses: number;
  socketErrors: number;
  /** re-INVITEs accepted (2xx) and refused (any other final). */
  reinvites: number;
  reinvitesRefused: number;
  /** 2xx to a re-INVITE given up on after 64*T1 without an ACK. */
  answerAckTimeouts: number;
  /** Handlers that threw (a bug), kept from the socket loop. */
  handlerErrors: number;
}

/** Timings in ms relative to the INVITE's first transmission. */
export interface InviteTimings {
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
  /** User part of From (the caller's number). */
  fromUser: string;
  sdp: string;
  /** Called on every provisional response. */
  onProvisional?: (status: number) => void;
}

export interface CallerUaOptions {
  /** Local bind address, also advertised in Via/Contact. Default 127.0.0.1. */
  hostname?: string;
  /** Local port, default 0 (any). */
  port?: number;
  /** RFC 3261 T1 in ms (default 500). Tests shorten it. */
  t1Ms?: number;
  /** RFC 3261 T2 in ms (default 4000). */
  t2Ms?: number;
}

/** One SIP UDP socket carrying many calls. */
export class CallerUa {
  private readonly callbacks = new WeakMap<Dialog, DialogCallbacks>();
  private readonly own = {
    unparsable: 0,
    strayResponses: 0,
    socketErrors: 0,
    reinvites: 0,
    reinvitesRefused: 0,
    answerAckTimeouts: 0,
    handlerErrors: 0,
  };

  private constructor(
    readonly ua: SipUa,
    readonly hostname: string,
  ) {}

  /** Bind the socket and start receiving. */
  static async create(opts: CallerUaOptions = {}): Promise<CallerUa> {
    const hostname = opts.hostname ?? "127.0.0.1";
    let self: CallerUa | null = null;
    const timers = {
      ...(opts.t1Ms !== undefined ? { t1: opts.t1Ms } : {}),
      ...(opts.t2Ms !== undefined ? { t2: opts.t2Ms } : {}),
    };
    const ua = await SipUa.listen({
      host: hostname,
      port: opts.port ?? 0,
      userAgent: "conf-loadgen",
      timers,
      handlers: {
        onBye: (dialog) => self?.callbacks.get(dialog)?.onBye?.(),
        onReinvite: (dialog, offer) => (self ? self.reoffer(dialog, offer.sdp) : NOT_ACCEPTABLE),
        onDialogFailed: (dialog) => {
          if (!self) return;
          self.own.answerAckTimeouts++;
          self.callbacks.get(dialog)?.onFailed?.();
        },
        onDrop: (reason) => {
          if (!self) return;
          if (reason.startsWith("response")) self.own.strayResponses++;
          else self.own.unparsable++;
        },
        onError: (_err, context) => {
          if (!self) return;
          if (context === "socket") self.own.socketErrors++;
          else self.own.handlerErrors++;
        },
      },
    });
    self = new CallerUa(ua, hostname);
    return self;
  }

  get port(): number {
    return this.ua.address.port;
  }

  /** Live dialogs (confirmed or awaiting an ACK). */
  get dialogCount(): number {
    return this.ua.dialogs.size;
  }

  get counters(): SipCounters {
    const c = this.ua.layer.counters;
    return {
      sent: c.sent,
      received: c.received,
      retransmissions: c.retransmissions - c.responseRetransmissions,
      answerRetransmissions: c.responseRetransmissions,
      ...this.own,
    };
  }

  /** Sets what a call's dialog reports (replacing earlier callbacks). */
  on(dialog: Dialog, callbacks: DialogCallbacks): void {
    this.callbacks.set(dialog, callbacks);
  }

  private reoffer(dialog: Dialog, sdp: string | null): ReinviteAnswer {
    const f = this.callbacks.get(dialog)?.onReinvite;
    let answer: ReinviteAnswer;
    if (!f || sdp === null) answer = NOT_ACCEPTABLE;
    else {
      try {
        answer = f(sdp);
      } catch {
        // The generator's bug answers 500, as a UAS should; it is not the socket's error.
        answer = { status: 500, reason: "Server Internal Error" };
      }
    }
    if ("sdp" in answer) this.own.reinvites++;
    else this.own.reinvitesRefused++;
    return answer;
  }

  /** Place a call. Resolves on the final response or on timer B (408). */
  async invite(opts: InviteOptions): Promise<InviteOutcome> {
    const host = opts.target.host.includes(":") ? `[${opts.target.host}]` : opts.target.host;
    const sentAt = performance.now();
    const timings: InviteTimings = { firstProvisionalMs: null, finalMs: null, retransmissions: 0 };
    const out = this.ua.invite({
      target: `sip:${opts.toUser}@${host}:${opts.target.port}`,
      from: `<sip:${opts.fromUser}@${this.hostname}>`,
      sdp: opts.sdp,
      onProvisional: (status) => {
        timings.firstProvisionalMs ??= performance.now() - sentAt;
        opts.onProvisional?.(status);
      },
    });
    const r = await out.result;
    timings.finalMs = performance.now() - sentAt;
    timings.retransmissions = out.retransmissions;
    if (!r.ok) return { ok: false, status: r.status, reason: r.reason, timings };
    return { ok: true, dialog: r.dialog, status: r.status, answerSdp: r.sdp ?? "", timings };
  }

  /** Hang up: BYE in the dialog; resolves with the final status (408 on timer F, 481 for an ended dialog). */
  async bye(dialog: Dialog): Promise<number> {
    if (dialog.state === "terminated") return 481;
    return (await dialog.bye()).status;
  }

  close(): void {
    this.ua.close();
  }
}
