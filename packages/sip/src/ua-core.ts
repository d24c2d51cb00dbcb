/**
 * What the UAS and UAC halves of {@link SipUa} share: the transaction layer, the
 * dialogs, the app's handlers and the plumbing (Via, Contact, sending, DNS, guarded
 * calls into the app). The socket itself stays with `SipUa`.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Dialog, DialogFailureReason } from "./dialog.ts";
import { formatVia, parseNameAddr, type SipRequest, type SipUri, uriUser, type Via } from "./message.ts";
import { type AdmissionTicket, DEFAULT_MESSAGE_LIMITS, type MessageLimits, type SourceLimits } from "./limits.ts";
import { SipMessageCounts } from "./message-counts.ts";
import { type Destination, resolveTimers, type SipTimerOptions, TransactionLayer } from "./transaction.ts";
import type { IncomingCall } from "./incoming-call.ts";

/** Methods this UA implements. */
export const SUPPORTED_METHODS = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO"] as const;
/** Methods we know but do not implement: answered 405 with Allow. */
export const KNOWN_UNSUPPORTED_METHODS = [
  "REGISTER",
  "SUBSCRIBE",
  "NOTIFY",
  "REFER",
  "MESSAGE",
  "PRACK",
  "UPDATE",
  "PUBLISH",
] as const;
export const SUPPORTED = new Set<string>(SUPPORTED_METHODS);
export const KNOWN = new Set<string>(KNOWN_UNSUPPORTED_METHODS);
export const ALLOW = SUPPORTED_METHODS.join(", ");
export const ACCEPT = "application/sdp, application/dtmf-relay, application/dtmf";
export const SUPPORTED_SCHEMES = new Set(["sip", "sips", "tel"]);

/** SDP direction of an offer, from our peer's point of view. */
export type SdpDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** What a re-INVITE offers. */
export interface ReinviteOffer {
  /** The SDP offer, or null for an offerless re-INVITE (the answer then comes in the ACK). */
  readonly sdp: string | null;
  /** Direction of the first audio stream (`a=sendonly` / `a=inactive` = the caller holds; c=0.0.0.0 counts as sendonly). */
  readonly direction: SdpDirection | null;
  readonly request: SipRequest;
}

/** The app's reply to a re-INVITE: an SDP answer, or a rejection (e.g. 488). */
export type ReinviteAnswer = { sdp: string } | { status: number; reason?: string };

/** What an ACK brought. */
export interface AckInfo {
  /** True for the ACK of the initial INVITE (the dialog is now confirmed). */
  readonly initial: boolean;
  /** SDP carried by the ACK (answer to an offer we sent in a 2xx), else null. */
  readonly sdp: string | null;
}

/**
 * App callbacks. Each is optional; each is called inside a try/catch, and rejected
 * promises are caught too, so a failing handler only reaches `onError`.
 */
export interface SipUaHandlers {
  /** A new call. Answer with `call.accept(sdp)` / `call.reject(...)`; without this handler calls get 480. */
  onInvite?(call: IncomingCall): void | Promise<void>;
  /** The caller gave up before the answer (CANCEL, or BYE on the early dialog), or the app did not answer within `answerTimeoutMs` (`call.state === "timed-out"`). */
  onCancel?(call: IncomingCall): void;
  /** An ACK for our 2xx arrived; for the initial INVITE this confirms the dialog. */
  onAck?(dialog: Dialog, info: AckInfo): void;
  /**
   * The peer hung up (BYE answered 200). Also called for a dialog this UA released to
   * another UA (`dialog.endReason === "moved"`) when the BYE still comes here: the app
   * then passes the hang-up on to the dialog's new owner.
   */
  onBye?(dialog: Dialog): void;
  /** A DTMF digit arrived in an INFO request (already answered 200). `durationMs` is 0 when the body gives none. */
  onInfoDtmf?(dialog: Dialog, digit: string, durationMs: number): void;
  /** A re-INVITE (hold, resume, codec change). Without this handler re-INVITEs get 488. */
  onReinvite?(dialog: Dialog, offer: ReinviteOffer): ReinviteAnswer | Promise<ReinviteAnswer>;
  /** The dialog failed (no ACK for our 2xx within timer H); the stack sends the BYE itself. */
  onDialogFailed?(dialog: Dialog, reason: DialogFailureReason): void;
  /** A datagram was dropped (unparseable, unmatched response, stray ACK). For logs and tests. */
  onDrop?(reason: string, source: Destination): void;
  /** A handler threw or a send failed. */
  onError?(error: unknown, context: string): void;
}

/**
 * Options of {@link SipUa.listen}.
 */
export interface SipUaOptions {
  /** Address to bind, and (unless `advertisedHost`) to put in Via and Contact. Default "127.0.0.1". */
  host?: string;
  /** UDP port to bind; 0 picks a free one. Default 5060. */
  port?: number;
  /** Address to advertise in Via/Contact when it differs from the bind address. */
  advertisedHost?: string;
  /** Port to advertise; default the bound port. */
  advertisedPort?: number;
  /** Server / User-Agent header value. Default "conf-mixer". */
  userAgent?: string;
  /** RFC 3261 timers in ms (T1 500, T2 4000, T4 5000, H = 64*T1, ...). */
  timers?: SipTimerOptions;
  /**
   * Send every response to the request's source port as if the client had asked
   * with `rport` (RFC 3581), which NATed phones need. Default false: RFC 3261 18.2.2.
   */
  forceRport?: boolean;
  /** A call the app leaves unanswered gets 480 after this many ms. Default 180000. */
  answerTimeoutMs?: number;
  /**
   * Per-source limits on new INVITEs (rate, waiting for answer/ACK, calls at a time);
   * over them: 503 with Retry-After, or silence past a second budget. Absent: none.
   */
  sourceLimits?: SourceLimits | true;
  /** Sources exempt from `sourceLimits` (the operator's carriers and SBCs). */
  trustedSource?: (address: string) => boolean;
  /** Message and SDP size limits; default {@link DEFAULT_MESSAGE_LIMITS}. */
  messageLimits?: Partial<MessageLimits>;
  handlers?: SipUaHandlers;
  /**
   * The transport named in our Via and Contact: "UDP" (default) for `listen`, "WS" or
   * "WSS" for a UA over WebSocket connections (RFC 7118, `SipUa.overTransport`).
   */
  transport?: SipTransportName;
}

/** Transports a UA can name in its Via. */
export type SipTransportName = "UDP" | "WS" | "WSS";

export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function sanitizeReason(reason: string): string {
  return reason.replace(/[\r\n]+/g, " ").slice(0, 120);
}

/** The top Via of a response: `received` when the source differs from sent-by, `rport` filled in (RFC 3581). */
export function responseVia(top: Via, src: Destination): string {
  const params = new Map(top.params);
  if (top.rport !== null) {
    params.set("rport", String(src.port));
    params.set("received", src.address);
  } else if (top.host !== src.address) params.set("received", src.address);
  return formatVia({ ...top, params });
}

/** Who sends bytes for the core (the UA's socket). */
export type SendDatagram = (data: Uint8Array, dest: Destination) => void;

/** @internal The state and plumbing the UAS and UAC share. */
export class UaCore {
  handlers: SipUaHandlers;
  readonly layer: TransactionLayer;
  /** Confirmed and early (answered, awaiting ACK) dialogs by id. */
  readonly dialogs = new Map<string, Dialog>();
  /** Dialogs handed to another UA, kept 64*T1 to answer a late BYE and re-ACK 2xx. */
  readonly moved = new Map<string, { dialog: Dialog; timer: ReturnType<typeof setTimeout> }>();
  /** Our BYEs asked for before the ACK of our 2xx (RFC 3261 15), sent when it comes or times out. */
  readonly byeAfterAck = new Set<Dialog>();
  /** Calls answered and not over yet, with their source's hold. */
  readonly dialogTickets = new WeakMap<Dialog, AdmissionTicket>();
  readonly userAgent: string;
  readonly forceRport: boolean;
  readonly limits: MessageLimits;
  readonly transport: SipTransportName;
  /** Messages by method and status code, each way (for metrics). */
  readonly messages = new SipMessageCounts([...SUPPORTED_METHODS, ...KNOWN_UNSUPPORTED_METHODS]);
  closed = false;
  /** Where the response being handled came from (set around `receiveResponse`). */
  responseSource: Destination | null = null;

  constructor(
    send: SendDatagram,
    /** Host put in Via and Contact. */
    readonly advertisedHost: string,
    /** Port put in Via and Contact. */
    readonly advertisedPort: number,
    options: SipUaOptions,
  ) {
    this.handlers = options.handlers ?? {};
    this.userAgent = options.userAgent ?? "conf-mixer";
    this.forceRport = options.forceRport ?? false;
    this.transport = options.transport ?? "UDP";
    this.limits = { ...DEFAULT_MESSAGE_LIMITS, ...options.messageLimits };
    // Every datagram leaves through the layer (transactions, ACKs, stateless answers).
    const counted: SendDatagram = (data, dest) => {
      this.messages.sent(data);
      send(data, dest);
    };
    this.layer = new TransactionLayer(counted, resolveTimers(options.timers), (err, ctx) => this.reportError(err, ctx));
  }

  hostPort(): string {
    const h = this.advertisedHost.includes(":") ? `[${this.advertisedHost}]` : this.advertisedHost;
    return `${h}:${this.advertisedPort}`;
  }

  newVia(branch: string): string {
    return `SIP/2.0/${this.transport} ${this.hostPort()};branch=${branch};rport`;
  }

  contactHeader(user: string | null): string {
    const u = user && /^[A-Za-z0-9+*#._-]+$/.test(user) ? `${user}@` : "";
    const t = this.transport === "UDP" ? "" : `;transport=${this.transport.toLowerCase()}`;
    return `<sip:${u}${this.hostPort()}${t}>`;
  }

  /** Our Contact inside a dialog: the user part of our URI in it (the dialed number, or "mixer"). */
  dialogContact(dialog: Dialog): string {
    const local = parseNameAddr(dialog.localHeader);
    return this.contactHeader(local.ok ? uriUser(local.value.uri) : null);
  }

  reportError(err: unknown, context: string): void {
    const h = this.handlers.onError;
    if (!h) return;
    try {
      h.call(this.handlers, err, context);
    } catch {
      // The error handler itself failed; nothing more to do.
    }
  }

  drop(reason: string, src: Destination): void {
    const h = this.handlers.onDrop;
    if (!h) return;
    try {
      h.call(this.handlers, reason, src);
    } catch (err) {
      this.reportError(err, "onDrop");
    }
  }

  /** Calls an app handler; errors and rejected promises go to onError. */
  emit<K extends Exclude<keyof SipUaHandlers, "onError" | "onDrop" | "onReinvite">>(
    name: K,
    ...args: Parameters<NonNullable<SipUaHandlers[K]>>
  ): void {
    const h = this.handlers[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!h) return;
    try {
      const r = h.apply(this.handlers, args);
      if (r instanceof Promise) r.catch((err: unknown) => this.reportError(err, name));
    } catch (err) {
      this.reportError(err, name);
    }
  }

  send(bytes: Uint8Array, dest: Destination): void {
    this.layer.send(bytes, dest);
  }

  /** RFC 3261 18.2.2 for UDP (+ RFC 3581): the source IP (what `received` says), and the source port with rport. */
  responseDestination(top: Via | undefined, src: Destination): Destination {
    if (!top) return src;
    const port = top.rport !== null || this.forceRport ? src.port : (top.port ?? 5060);
    return { address: src.address, port };
  }

  async resolve(uri: SipUri): Promise<Destination | null> {
    const host = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host;
    const port = uri.port ?? 5060;
    if (isIP(host) !== 0) return { address: host, port };
    try {
      const r = await lookup(host, { family: 4 });
      return { address: r.address, port };
    } catch (err) {
      this.reportError(err, `dns ${host}`);
      return null;
    }
  }

  endDialog(dialog: Dialog, reason: NonNullable<Dialog["endReason"]>): void {
    this.dialogTickets.get(dialog)?.end();
    dialog.state = "terminated";
    if (dialog.endReason === null) dialog.endReason = reason;
    if (dialog.awaitingAck) {
      dialog.awaitingAck.tx.ack2xx();
      dialog.awaitingAck = null;
    }
    this.dialogs.delete(dialog.id);
    this.byeAfterAck.delete(dialog);
  }

  /**
   * Where a request inside a dialog we answered goes: the next hop (first route, else
   * the remote target), except for a peer behind NAT. One that reached us without a
   * proxy (no route set) from another host than its Contact names has a Contact we
   * cannot reach (a private address, mostly) and a NAT binding where its INVITE came
   * from; with `forceRport` our responses already go there, and so do our requests
   * (what Asterisk's force_rport/rewrite_contact do).
   */
  inDialogDestination(dialog: Dialog, nextHop: SipUri | null): Promise<Destination | null> {
    if (
      this.forceRport &&
      dialog.role === "uas" &&
      dialog.routeSet.length === 0 &&
      nextHop &&
      nextHop.host !== dialog.source.address
    ) {
      return Promise.resolve(dialog.source);
    }
    return this.destinationOf(nextHop);
  }

  destinationOf(uri: SipUri | null): Promise<Destination | null> {
    return uri ? this.resolve(uri) : Promise.resolve(null);
  }

  forgetMoved(id: string): void {
    const m = this.moved.get(id);
    if (!m) return;
    clearTimeout(m.timer);
    this.moved.delete(id);
  }
}
