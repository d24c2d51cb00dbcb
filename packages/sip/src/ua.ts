/**
 * The SIP user agent core of the mixer over one UDP socket: a UAS for callers
 * (RFC 3261 sections 8.2, 12, 13.3, 14.2, 15, 16-18 as they apply to a UAS), and a
 * small UAC for calls we place (e.g. to a recording server).
 *
 * Hand-written on purpose: no library offers a correct SIP transaction layer for
 * Bun, and this code sits on the signalling hot path of every call. The app layer
 * sees calls, dialogs and events, not SIP messages; every app callback is guarded
 * so that a throwing handler never stops the socket loop.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { udp } from "bun";
import { parse as parseSdp } from "sdp-transform";
import {
  buildInDialogRequest,
  type ByeResult,
  Dialog,
  type DialogFailureReason,
  type DialogHost,
  type DialogSnapshot,
  DuplicateDialogError,
  dialogKey,
  parseDialogSnapshot,
  type ReinviteOptions,
  type ReinviteResult,
} from "./dialog.ts";
import { DTMF_INFO_TYPES, type DtmfInfoType, parseDtmfInfo } from "./dtmf-info.ts";
import {
  bodyText,
  formatVia,
  isSipUri,
  type MessageParseResult,
  type NameAddr,
  type OutgoingHeader,
  parseMessage,
  parseNameAddr,
  parseUri,
  reasonPhrase,
  type SipRequest,
  type SipResponse,
  type SipUri,
  salvageResponseHeaders,
  serializeRequest,
  serializeResponse,
  uriUser,
  type Via,
} from "./message.ts";
import {
  type AdmissionTicket,
  countHeaderLines,
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_SOURCE_LIMITS,
  headerSectionEnd,
  type MessageLimits,
  SourceAdmission,
  type SourceLimits,
  sdpTooLarge,
} from "./limits.ts";
import {
  type Destination,
  InviteClientTransaction,
  InviteServerTransaction,
  MAGIC_COOKIE,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  resolveTimers,
  type ServerTransaction,
  type SipTimerOptions,
  serverTransactionKey,
  TransactionLayer,
} from "./transaction.ts";

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
const SUPPORTED = new Set<string>(SUPPORTED_METHODS);
const KNOWN = new Set<string>(KNOWN_UNSUPPORTED_METHODS);
const ALLOW = SUPPORTED_METHODS.join(", ");
const ACCEPT = "application/sdp, application/dtmf-relay, application/dtmf";
const SUPPORTED_SCHEMES = new Set(["sip", "sips", "tel"]);

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
}

export const INCOMING_CALL_STATES = ["offered", "early", "answered", "rejected", "cancelled", "timed-out"] as const;
export type IncomingCallState = (typeof INCOMING_CALL_STATES)[number];

interface CallHost {
  provisional(call: IncomingCall, status: number, sdp: string | null): boolean;
  accept(call: IncomingCall, sdp: string): Dialog | null;
  reject(call: IncomingCall, status: number, reason: string | undefined, headers: readonly OutgoingHeader[]): boolean;
}

/**
 * An incoming INVITE waiting for the app's decision. The caller already got
 * 100 Trying.
 *
 * @example
 * ua.handlers.onInvite = (call) => {
 *   if (call.dialedNumber !== "15162065919") return void call.reject(404);
 *   call.accept(makeAnswer(call.sdp));
 * };
 */
export class IncomingCall {
  readonly callId: string;
  /** Request-URI user part (or tel number), unescaped: the dialed number. */
  readonly dialedNumber: string | null;
  /** The Request-URI as received. */
  readonly requestUri: string;
  /** Raw From header value (for number_src). */
  readonly from: string;
  /** Raw To header value (for number_dst). */
  readonly to: string;
  readonly fromAddr: NameAddr;
  readonly toAddr: NameAddr;
  /** User part of the From URI, unescaped (the caller's number), or null. */
  readonly callerNumber: string | null;
  /** First Contact value as received, or null. */
  readonly contact: string | null;
  /** The SDP offer, or null for an offerless INVITE (then `accept` sends an offer and the answer comes in the ACK). */
  readonly sdp: string | null;
  /** Where the INVITE came from. */
  readonly source: Destination;
  /** Our To tag for this call (also the dialog's local tag). */
  readonly localTag: string;
  state: IncomingCallState = "offered";
  /** Set by `accept`. */
  dialog: Dialog | null = null;
  /** Free slot for the app. */
  appData: unknown = undefined;

  /** @internal */
  readonly tx: InviteServerTransaction;

  constructor(
    private readonly host: CallHost,
    readonly request: SipRequest,
    source: Destination,
    tx: InviteServerTransaction,
    localTag: string,
  ) {
    this.tx = tx;
    this.callId = request.callId;
    this.dialedNumber = uriUser(request.requestUri);
    this.requestUri = request.uri;
    this.from = request.headers.get("from") ?? "";
    this.to = request.headers.get("to") ?? "";
    this.fromAddr = request.from;
    this.toAddr = request.to;
    this.callerNumber = uriUser(request.from.uri);
    this.contact = request.headers.get("contact");
    this.sdp = request.contentType === "application/sdp" && request.body.length > 0 ? bodyText(request) : null;
    this.source = source;
    this.localTag = localTag;
  }

  /** Any header of the INVITE (case-insensitive, compact forms understood). */
  header(name: string): string | null {
    return this.request.headers.get(name);
  }

  /** 100 Trying was sent on arrival; this re-sends it while nothing else was sent. */
  trying(): boolean {
    return this.host.provisional(this, 100, null);
  }

  /** Sends 180 Ringing (with our tag: an early dialog). */
  ringing(): boolean {
    return this.host.provisional(this, 180, null);
  }

  /** Sends 183 Session Progress with SDP (early media). */
  progress(sdp: string): boolean {
    return this.host.provisional(this, 183, sdp);
  }

  /** Answers 200 OK with the SDP (answer, or offer for an offerless INVITE). Null if the call can no longer be answered. */
  accept(sdp: string): Dialog | null {
    return this.host.accept(this, sdp);
  }

  /** Rejects the call (default 486 Busy Here). False if a final response was already sent. */
  reject(status = 486, reason?: string, headers: readonly OutgoingHeader[] = []): boolean {
    return this.host.reject(this, status, reason, headers);
  }
}

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
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function sanitizeReason(reason: string): string {
  return reason.replace(/[\r\n]+/g, " ").slice(0, 120);
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

/** The top Via of a response: `received` when the source differs from sent-by, `rport` filled in (RFC 3581). */
function responseVia(top: Via, src: Destination): string {
  const params = new Map(top.params);
  if (top.rport !== null) {
    params.set("rport", String(src.port));
    params.set("received", src.address);
  } else if (top.host !== src.address) params.set("received", src.address);
  return formatVia({ ...top, params });
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

type UdpSocket = udp.Socket<"buffer">;

/**
 * The SIP UA: binds a UDP socket, runs transactions and dialogs, calls the app's handlers.
 *
 * @example
 * const ua = await SipUa.listen({ host: "127.0.0.1", port: 5060, handlers: {
 *   onInvite: (call) => call.accept(answerSdp),
 *   onBye: (dialog) => console.log("hung up", dialog.id),
 * }});
 * // ...
 * ua.close();
 */
export class SipUa implements DialogHost, CallHost {
  handlers: SipUaHandlers;
  readonly layer: TransactionLayer;
  /** Confirmed and early (answered, awaiting ACK) dialogs by id. */
  readonly dialogs = new Map<string, Dialog>();
  private readonly earlyCalls = new Map<string, IncomingCall>();
  private readonly inviteContexts = new WeakMap<InviteServerTransaction, InviteContext>();
  private readonly uacByKey = new Map<string, UacState>();
  private readonly answerTimers = new Map<IncomingCall, ReturnType<typeof setTimeout>>();
  private readonly pendingByes = new Map<Dialog, (r: ByeResult) => void>();
  private readonly pendingReinvites = new Set<(r: ReinviteResult) => void>();
  /** Dialogs handed to another UA, kept 64*T1 to answer a late BYE and re-ACK 2xx. */
  private readonly moved = new Map<string, { dialog: Dialog; timer: ReturnType<typeof setTimeout> }>();
  private readonly byeAfterAck = new Set<Dialog>();
  private readonly userAgent: string;
  private readonly forceRport: boolean;
  private readonly answerTimeoutMs: number;
  private readonly admission: SourceAdmission | null;
  private readonly limits: MessageLimits;
  /** Calls answered and not over yet, with their source's hold. */
  private readonly dialogTickets = new WeakMap<Dialog, AdmissionTicket>();
  private closed = false;
  private responseSource: Destination | null = null;

  private constructor(
    private readonly socket: UdpSocket,
    /** Host put in Via and Contact. */
    readonly advertisedHost: string,
    /** Port put in Via and Contact. */
    readonly advertisedPort: number,
    options: SipUaOptions,
  ) {
    this.handlers = options.handlers ?? {};
    this.userAgent = options.userAgent ?? "conf-mixer";
    this.forceRport = options.forceRport ?? false;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 180_000;
    const sl = options.sourceLimits;
    this.admission = sl ? new SourceAdmission(sl === true ? DEFAULT_SOURCE_LIMITS : sl, options.trustedSource) : null;
    this.limits = { ...DEFAULT_MESSAGE_LIMITS, ...options.messageLimits };
    this.layer = new TransactionLayer(
      (data, dest) => {
        this.socket.send(data, dest.port, dest.address);
      },
      resolveTimers(options.timers),
      (err, ctx) => this.reportError(err, ctx),
    );
  }

  /**
   * Binds the socket and starts answering.
   *
   * @example const ua = await SipUa.listen({ host: "127.0.0.1", port: 0 });
   */
  static async listen(options: SipUaOptions = {}): Promise<SipUa> {
    const host = options.host ?? "127.0.0.1";
    let ua: SipUa | null = null;
    const socket = await Bun.udpSocket({
      hostname: host,
      port: options.port ?? 5060,
      socket: {
        data(_s, buf, port, address, flags) {
          ua?.receive(buf, { address, port }, flags.truncated);
        },
        error(_s, err) {
          ua?.reportError(err, "socket");
        },
      },
    });
    ua = new SipUa(socket, options.advertisedHost ?? host, options.advertisedPort ?? socket.port, options);
    return ua;
  }

  /** The bound address. */
  get address(): Destination {
    return { address: this.socket.hostname, port: this.socket.port };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Stops: clears every timer, settles pending promises, closes the socket. Sends no
   * BYE (end dialogs first if the peers should know). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.close();
    for (const t of this.answerTimers.values()) clearTimeout(t);
    this.answerTimers.clear();
    for (const resolve of this.pendingByes.values()) resolve({ ok: false, status: 0, reason: "closed" });
    this.pendingByes.clear();
    for (const settle of [...this.pendingReinvites]) settle({ ok: false, status: 0, reason: "closed" });
    for (const m of this.moved.values()) clearTimeout(m.timer);
    this.moved.clear();
    for (const u of this.uacByKey.values()) {
      if (u.cleanup !== null) clearTimeout(u.cleanup);
      this.settleUac(u, { ok: false, status: 0, reason: "closed" });
    }
    this.uacByKey.clear();
    this.earlyCalls.clear();
    this.byeAfterAck.clear();
    this.socket.close();
  }

  // -------------------------------------------------------------------------
  // Plumbing

  private hostPort(): string {
    const h = this.advertisedHost.includes(":") ? `[${this.advertisedHost}]` : this.advertisedHost;
    return `${h}:${this.advertisedPort}`;
  }

  private newVia(branch: string): string {
    return `SIP/2.0/UDP ${this.hostPort()};branch=${branch};rport`;
  }

  private contactHeader(user: string | null): string {
    const u = user && /^[A-Za-z0-9+*#._-]+$/.test(user) ? `${user}@` : "";
    return `<sip:${u}${this.hostPort()}>`;
  }

  /**
   * This UA's Contact header value with the given user part, e.g. for another node to
   * put in its re-INVITE when it hands a dialog over to this UA. Users with characters
   * outside `[A-Za-z0-9+*#._-]` are left out.
   *
   * @example ua.contact("conf") // "<sip:conf@127.0.0.1:5071>"
   */
  contact(user: string | null = null): string {
    return this.contactHeader(user);
  }

  /** Our Contact inside a dialog: the user part of our URI in it (the dialed number, or "mixer"). */
  private dialogContact(dialog: Dialog): string {
    const local = parseNameAddr(dialog.localHeader);
    return this.contactHeader(local.ok ? uriUser(local.value.uri) : null);
  }

  /** @internal */
  reportError(err: unknown, context: string): void {
    const h = this.handlers.onError;
    if (!h) return;
    try {
      h.call(this.handlers, err, context);
    } catch {
      // The error handler itself failed; nothing more to do.
    }
  }

  private drop(reason: string, src: Destination): void {
    const h = this.handlers.onDrop;
    if (!h) return;
    try {
      h.call(this.handlers, reason, src);
    } catch (err) {
      this.reportError(err, "onDrop");
    }
  }

  /** Calls an app handler; errors and rejected promises go to onError. */
  private emit<K extends Exclude<keyof SipUaHandlers, "onError" | "onDrop" | "onReinvite">>(
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

  private send(bytes: Uint8Array, dest: Destination): void {
    this.layer.send(bytes, dest);
  }

  /** RFC 3261 18.2.2 for UDP (+ RFC 3581): the source IP (what `received` says), and the source port with rport. */
  private responseDestination(top: Via | undefined, src: Destination): Destination {
    if (!top) return src;
    const port = top.rport !== null || this.forceRport ? src.port : (top.port ?? 5060);
    return { address: src.address, port };
  }

  private async resolve(uri: SipUri): Promise<Destination | null> {
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

  // -------------------------------------------------------------------------
  // Receiving

  /** @internal Feeds one datagram (exposed for the socket callback). */
  receive(data: Uint8Array, src: Destination, truncated = false): void {
    if (this.closed) return;
    try {
      if (truncated) return this.drop("truncated datagram", src);
      // Size and header count first, by counting bytes: parsing is what a big message costs.
      if (data.length > this.limits.maxMessageBytes) return this.tooLarge(data, src);
      if (countHeaderLines(data, this.limits.maxHeaders) > this.limits.maxHeaders) {
        return this.drop(`more than ${this.limits.maxHeaders} header lines`, src);
      }
      // Bun may reuse its receive buffer: the message (and its body slices) must own its bytes.
      const r = parseMessage(new Uint8Array(data));
      if (!r.ok) return this.handleParseFailure(r, src);
      if (r.value.kind === "request") this.handleRequest(r.value, src);
      else this.handleResponse(r.value, src);
    } catch (err) {
      this.reportError(err, "receive");
    }
  }

  /**
   * A datagram over the size limit: a request whose header section sits in the first
   * `maxMessageBytes` (and is not too long) gets 513, parsed without its body; the
   * rest is dropped.
   */
  private tooLarge(data: Uint8Array, src: Destination): void {
    const why = `datagram of ${data.length} bytes over ${this.limits.maxMessageBytes}`;
    const bodyStart = headerSectionEnd(data, this.limits.maxMessageBytes);
    if (bodyStart < 0 || countHeaderLines(data, this.limits.maxHeaders) > this.limits.maxHeaders) return this.drop(why, src);
    const r = parseMessage(new Uint8Array(data.subarray(0, bodyStart)));
    if (r.ok) {
      const req = r.value;
      if (req.kind !== "request" || req.method === "ACK") return this.drop(why, src);
      this.send(this.buildResponse(req, src, 513), this.responseDestination(req.via[0], src));
      return this.drop(`answered 513: ${why}`, src);
    }
    this.handleParseFailure({ ...r, reason: why }, src, 513);
  }

  private handleParseFailure(r: Extract<MessageParseResult, { ok: false }>, src: Destination, statusOverride?: number): void {
    if (r.keepalive) return;
    const s = r.salvage && r.salvage.method !== null && r.salvage.method !== "ACK" ? salvageResponseHeaders(r.salvage) : null;
    if (!s) return this.drop(r.reason, src);
    const headers: OutgoingHeader[] = [["Via", responseVia(s.topVia, src)]];
    for (const v of s.via.slice(1)) headers.push(["Via", v]);
    if (s.from !== null) headers.push(["From", s.from]);
    if (s.to !== null) headers.push(["To", /;\s*tag\s*=/i.test(s.to) ? s.to : `${s.to};tag=${randomHex(5)}`]);
    if (s.callId !== null) headers.push(["Call-ID", s.callId]);
    headers.push(["CSeq", s.cseq], ["Server", this.userAgent]);
    const status = statusOverride ?? r.status;
    this.send(
      serializeResponse(status, sanitizeReason(`${reasonPhrase(status)} (${r.reason})`), headers),
      this.responseDestination(s.topVia, src),
    );
    this.drop(`answered ${status}: ${r.reason}`, src);
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
    if (o.contact) headers.push(["Contact", this.contactHeader(uriUser(req.requestUri))]);
    headers.push(["Server", this.userAgent]);
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

  private handleRequest(req: SipRequest, src: Destination): void {
    if (req.method === "ACK") return this.handleAck(req, src);
    const key = serverTransactionKey(req);
    const existing = this.layer.server.get(key);
    if (existing) return existing.receiveRetransmission();

    const dest = this.responseDestination(req.via[0], src);
    if (req.method === "CANCEL") return this.handleCancel(req, src, key, dest);

    let ticket: AdmissionTicket | null = null;
    if (req.method === "INVITE" && req.to.tag === null && this.admission) {
      const v = this.admission.admit(src.address);
      if (v.kind === "drop") return this.drop(`over the per-source limit (${v.why}): dropped`, src);
      if (v.kind === "refuse") {
        // Stateless: a flood must not cost a transaction per INVITE.
        const headers: OutgoingHeader[] = [["Retry-After", String(v.retryAfterSeconds)]];
        this.send(this.buildResponse(req, src, 503, { headers }), dest);
        return this.drop(`answered 503: over the per-source limit (${v.why})`, src);
      }
      ticket = v.ticket;
    }

    let tx: ServerTransaction;
    if (req.method === "INVITE") {
      const ctx: InviteContext = { dialog: null, call: null, ticket };
      const ist = new InviteServerTransaction(this.layer, key, req, dest, {
        onAckTimeout: () => {
          if (ctx.dialog) this.ackTimeout(ctx.dialog);
        },
      });
      this.inviteContexts.set(ist, ctx);
      tx = ist;
    } else tx = new NonInviteServerTransaction(this.layer, key, req, dest);
    this.sources.set(tx, src);
    this.layer.addServer(tx);

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
      const big = sdpTooLarge(bodyText(req), this.limits);
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
    if (!this.handlers.onInvite) {
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
        this.emit("onCancel", call);
      }, this.answerTimeoutMs),
    );
    this.emit("onInvite", call);
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

  /** @internal CallHost */
  provisional(call: IncomingCall, status: number, sdp: string | null): boolean {
    if (this.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return false;
    if (status === 100) {
      if (call.tx.lastStatus > 100) return false;
      return this.respond(call.tx, 100);
    }
    call.state = "early";
    this.earlyCalls.set(dialogKey(call.callId, call.localTag, call.fromAddr.tag ?? ""), call);
    return this.respond(call.tx, status, { toTag: call.localTag, contact: true, recordRoute: true, sdp });
  }

  /** @internal CallHost */
  accept(call: IncomingCall, sdp: string): Dialog | null {
    if (this.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return null;
    const req = call.request;
    const contact = req.contacts.find((c): c is NameAddr => c !== "*");
    const dialog = new Dialog(this, {
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
    this.dialogs.set(dialog.id, dialog);
    const ctx = this.inviteContexts.get(call.tx);
    if (ctx) {
      ctx.dialog = dialog;
      if (ctx.ticket) this.dialogTickets.set(dialog, ctx.ticket);
    }
    this.finishCall(call, "answered");
    call.dialog = dialog;
    this.respond(call.tx, 200, { toTag: call.localTag, contact: true, allow: true, recordRoute: true, sdp });
    return dialog;
  }

  /** @internal CallHost */
  reject(call: IncomingCall, status: number, reason: string | undefined, headers: readonly OutgoingHeader[]): boolean {
    if (this.closed || (call.state !== "offered" && call.state !== "early") || call.tx.state !== "proceeding") return false;
    const st = Number.isInteger(status) && status >= 300 && status <= 699 ? status : 500;
    this.finishCall(call, "rejected");
    return this.respond(call.tx, st, { toTag: call.localTag, reason, headers });
  }

  private handleCancel(req: SipRequest, src: Destination, key: string, dest: Destination): void {
    const tx = new NonInviteServerTransaction(this.layer, key, req, dest);
    this.sources.set(tx, src);
    this.layer.addServer(tx);
    const invite = this.layer.server.get(serverTransactionKey({ ...req, method: "INVITE" }));
    if (!(invite instanceof InviteServerTransaction)) {
      this.respond(tx, 481);
      return;
    }
    const call = this.inviteContexts.get(invite)?.call ?? null;
    this.respond(tx, 200, { toTag: call?.localTag });
    if (invite.state !== "proceeding") return;
    if (call) this.finishCall(call, "cancelled");
    this.respond(invite, 487, { toTag: call?.localTag });
    if (call) this.emit("onCancel", call);
  }

  private handleAck(req: SipRequest, src: Destination): void {
    const ist = this.layer.server.get(serverTransactionKey(req));
    if (ist instanceof InviteServerTransaction) {
      const kind = ist.receiveAck();
      if (kind !== "2xx") return;
    }
    const dialog = this.dialogs.get(dialogKey(req.callId, req.to.tag ?? "", req.from.tag ?? ""));
    const waiting = dialog?.awaitingAck;
    if (!dialog || !waiting || waiting.seq !== req.cseq.seq) {
      if (!ist) this.drop("ACK matches no transaction or dialog", src);
      return;
    }
    waiting.tx.ack2xx();
    dialog.awaitingAck = null;
    if (waiting.initial) {
      dialog.state = "confirmed";
      this.dialogTickets.get(dialog)?.settle();
    }
    const sdp = req.contentType === "application/sdp" && req.body.length > 0 ? bodyText(req) : null;
    if (sdp !== null) dialog.remoteSdp = sdp;
    this.emit("onAck", dialog, { initial: waiting.initial, sdp });
    if (this.byeAfterAck.delete(dialog)) this.startBye(dialog);
  }

  private handleInDialog(req: SipRequest, src: Destination, tx: ServerTransaction): void {
    const key = dialogKey(req.callId, req.to.tag ?? "", req.from.tag ?? "");
    const dialog = this.dialogs.get(key);
    if (!dialog || dialog.state === "terminated") {
      const moved = this.moved.get(key);
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
        this.forgetMoved(key);
        this.emit("onBye", moved.dialog);
        return;
      }
      const early = this.earlyCalls.get(key);
      if (early && req.method === "BYE" && early.tx.state === "proceeding") {
        // RFC 3261 15: a BYE on an early dialog; the INVITE gets 487.
        this.respond(tx, 200);
        this.finishCall(early, "cancelled");
        this.respond(early.tx, 487, { toTag: early.localTag });
        this.emit("onCancel", early);
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
        this.endDialog(dialog, "bye-received");
        this.emit("onBye", dialog);
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

  private endDialog(dialog: Dialog, reason: NonNullable<Dialog["endReason"]>): void {
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
    this.emit("onInfoDtmf", dialog, d.digit, d.durationMs);
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
    const handler = this.handlers.onReinvite;
    if (!handler) {
      this.respond(tx, 488);
      return;
    }
    dialog.reinvitePending = true;
    let answer: ReinviteAnswer;
    try {
      answer = await handler.call(this.handlers, dialog, { sdp, direction: sdp ? sdpDirection(sdp) : null, request: req });
    } catch (err) {
      this.reportError(err, "onReinvite");
      answer = { status: 500 };
    } finally {
      dialog.reinvitePending = false;
    }
    if (this.closed || tx.state !== "proceeding") return;
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
    this.dialogTickets.get(dialog)?.settle();
    this.emit("onDialogFailed", dialog, "ack-timeout");
    // RFC 3261 13.3.1.4: the session should be ended with a BYE (the app's deferred one, or ours).
    if (this.byeAfterAck.delete(dialog)) this.startBye(dialog);
    else void dialog.bye();
  }

  // -------------------------------------------------------------------------
  // Requests we send

  /** @internal DialogHost: sends (or defers until the ACK) our BYE. */
  sendBye(dialog: Dialog): Promise<ByeResult> {
    if (this.closed) return Promise.resolve({ ok: false, status: 0, reason: "closed" });
    return new Promise<ByeResult>((resolve) => {
      this.pendingByes.set(dialog, resolve);
      // RFC 3261 15: the callee must not send BYE before the ACK (or its timeout).
      if (dialog.awaitingAck?.initial) this.byeAfterAck.add(dialog);
      else this.startBye(dialog);
    });
  }

  private startBye(dialog: Dialog): void {
    const resolve = (r: ByeResult) => {
      const f = this.pendingByes.get(dialog);
      this.pendingByes.delete(dialog);
      f?.(r);
    };
    if (dialog.state === "terminated" && dialog.endReason !== null) {
      resolve({ ok: true, status: 0 });
      return;
    }
    this.endDialog(dialog, "bye-sent");
    dialog.localSeq += 1;
    const branch = MAGIC_COOKIE + randomHex(8);
    const { bytes, target } = buildInDialogRequest(dialog, "BYE", dialog.localSeq, this.newVia(branch), [
      ["User-Agent", this.userAgent],
    ]);
    void this.inDialogDestination(dialog, target.nextHop).then((dest) => {
      if (this.closed) return resolve({ ok: false, status: 0, reason: "closed" });
      if (!dest) return resolve({ ok: false, status: 503, reason: "next hop not resolvable" });
      const tx = new NonInviteClientTransaction(this.layer, branch, "BYE", bytes, dest, {
        onResponse: (res) => {
          if (res.status >= 200) resolve(res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, reason: res.reason });
        },
        onTimeout: () => resolve({ ok: false, status: 408, reason: "Request Timeout" }),
      });
      this.layer.addClient(tx);
      tx.start();
    });
  }

  /** @internal DialogHost: sends our re-INVITE; `Dialog.reinvite` has checked the dialog's state. */
  sendReinvite(dialog: Dialog, opts: ReinviteOptions): Promise<ReinviteResult> {
    if (this.closed) return Promise.resolve({ ok: false, status: 0, reason: "closed" });
    dialog.reinviteOutgoing = true;
    dialog.localSeq += 1;
    const seq = dialog.localSeq;
    const branch = MAGIC_COOKIE + randomHex(8);
    const via = this.newVia(branch);
    const { bytes, target } = buildInDialogRequest(
      dialog,
      "INVITE",
      seq,
      via,
      [
        ["Contact", opts.contact ?? this.dialogContact(dialog)],
        ["Allow", ALLOW],
        ["User-Agent", this.userAgent],
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
      void this.inDialogDestination(dialog, target.nextHop).then((dest) => {
        if (this.closed) return settle({ ok: false, status: 0, reason: "closed" });
        if (!dest) return settle({ ok: false, status: 503, reason: "next hop not resolvable" });
        // The ACK of the 2xx, kept for retransmitted 2xx: they reach this transaction
        // (Accepted state, timer M = 64*T1) even after the dialog was released.
        let ack: { bytes: Uint8Array; destination: Destination } | "pending" | null = null;
        const onResponse = (res: SipResponse) => {
          if (res.status < 200) return;
          if (res.status >= 300) return settle({ ok: false, status: res.status, reason: res.reason });
          if (ack === "pending") return;
          if (ack) return this.send(ack.bytes, ack.destination);
          ack = "pending";
          const sdp = res.contentType === "application/sdp" && res.body.length > 0 ? bodyText(res) : null;
          const contact = res.contacts.find((c): c is NameAddr => c !== "*");
          // RFC 3261 12.2.1.2: a 2xx to a target refresh replaces the remote target,
          // and the ACK (13.2.2.4) already goes to the new one.
          if (contact) dialog.remoteTarget = contact.uri.raw;
          dialog.localSdp = opts.sdp;
          if (sdp !== null) dialog.remoteSdp = sdp;
          const ackBranch = MAGIC_COOKIE + randomHex(8);
          const built = buildInDialogRequest(dialog, "ACK", seq, this.newVia(ackBranch), [["User-Agent", this.userAgent]]);
          void this.inDialogDestination(dialog, built.target.nextHop).then((ackDest) => {
            ack = { bytes: built.bytes, destination: ackDest ?? dest };
            this.send(ack.bytes, ack.destination);
            settle({ ok: true, status: res.status, sdp, contact: contact ? contact.raw : null });
          });
        };
        const tx = new InviteClientTransaction(
          this.layer,
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
        this.layer.addClient(tx);
        tx.start();
      });
    });
  }

  /**
   * The dialog moved to another UA (which adopted its snapshot): stop handling it here
   * without a BYE. `dialog.state` becomes "terminated" with endReason "moved". For the
   * next `keepMs` (default 64*T1, or timer M if longer; `forgetReleased` ends it sooner)
   * a BYE that still arrives here gets 200 and calls `onBye(dialog)` (so the app can pass
   * the hang-up on to the new owner), an INFO is handled as usual (`onInfoDtmf`), an
   * OPTIONS gets 200, other requests in the dialog get 481, and a retransmitted 2xx of
   * our last re-INVITE is ACKed again.
   * A no-op for a dialog that is not live on this UA. A deferred BYE (`bye()` before the
   * ACK) resolves `{ ok: false, status: 0, reason: "moved" }`.
   *
   * @example
   * const r = await dialog.reinvite({ sdp: offerB, contact: contactB });
   * if (r.ok) { await sendToNodeB(dialog.snapshot()); ua.releaseDialog(dialog); }
   */
  releaseDialog(dialog: Dialog, keepMs?: number): void {
    if (this.dialogs.get(dialog.id) !== dialog) return;
    this.endDialog(dialog, "moved");
    dialog.endReason = "moved";
    // Only a BYE deferred until the ACK can still be pending here: started BYEs
    // already took the dialog out of `dialogs`.
    const deferred = this.pendingByes.get(dialog);
    if (deferred) {
      this.pendingByes.delete(dialog);
      deferred({ ok: false, status: 0, reason: "moved" });
    }
    if (this.closed) return;
    const t = this.layer.timers;
    const timer = setTimeout(() => this.moved.delete(dialog.id), keepMs ?? Math.max(64 * t.t1, t.timerM));
    this.forgetMoved(dialog.id);
    this.moved.set(dialog.id, { dialog, timer });
  }

  /** The new owner says a released dialog has ended: requests for it here get 481 from now on. */
  forgetReleased(dialog: Dialog): void {
    this.forgetMoved(dialog.id);
  }

  private forgetMoved(id: string): void {
    const m = this.moved.get(id);
    if (!m) return;
    clearTimeout(m.timer);
    this.moved.delete(id);
  }

  /**
   * Takes over a confirmed dialog from another UA (usually another process), given the
   * snapshot taken there (`dialog.snapshot()`, possibly through JSON). Its in-dialog
   * requests arriving here (BYE, INFO, re-INVITE, OPTIONS) are handled like those of
   * dialogs this UA created, with the same handlers; our requests and responses carry
   * this UA's Via and Contact; `bye()` and `reinvite()` send from this UA's socket with
   * CSeq numbers above the snapshot's. Throws DialogSnapshotError for a malformed
   * snapshot and DuplicateDialogError when this UA already has the dialog; adopting a
   * dialog this UA released before takes it back.
   *
   * @example
   * const dialog = ua.adoptDialog(JSON.parse(body));
   * dialog.appData = meeting.join(dialog);
   */
  adoptDialog(snapshot: DialogSnapshot): Dialog {
    if (this.closed) throw new Error("SipUa is closed");
    const snap = parseDialogSnapshot(snapshot);
    const id = dialogKey(snap.callId, snap.localTag, snap.remoteTag);
    if (this.dialogs.has(id)) throw new DuplicateDialogError(snap.callId);
    this.forgetMoved(id);
    const dialog = new Dialog(this, snap);
    dialog.state = "confirmed";
    this.dialogs.set(id, dialog);
    return dialog;
  }

  /**
   * Where a request inside a dialog we answered goes: the next hop (first route, else
   * the remote target), except for a peer behind NAT. One that reached us without a
   * proxy (no route set) from another host than its Contact names has a Contact we
   * cannot reach (a private address, mostly) and a NAT binding where its INVITE came
   * from; with `forceRport` our responses already go there, and so do our requests
   * (what Asterisk's force_rport/rewrite_contact do).
   */
  private inDialogDestination(dialog: Dialog, nextHop: SipUri | null): Promise<Destination | null> {
    if (this.forceRport && dialog.role === "uas" && dialog.routeSet.length === 0 && nextHop && nextHop.host !== dialog.source.address) {
      return Promise.resolve(dialog.source);
    }
    return this.destinationOf(nextHop);
  }

  private destinationOf(uri: SipUri | null): Promise<Destination | null> {
    return uri ? this.resolve(uri) : Promise.resolve(null);
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
    const callId = `${randomHex(12)}@${this.advertisedHost}`;
    const localTag = randomHex(6);
    let resolveResult: (r: InviteResult) => void = () => {};
    const result = new Promise<InviteResult>((r) => {
      resolveResult = r;
    });
    const target = parseUri(opts.target);
    const call: OutgoingCall = {
      callId,
      localTag,
      result,
      cancel: () => {
        const u = this.uacByKey.get(callId);
        if (u) this.cancelUac(u);
      },
    };
    if (this.closed) {
      resolveResult({ ok: false, status: 0, reason: "closed" });
      return call;
    }
    if (!target.ok || !isSipUri(target.value)) {
      resolveResult({ ok: false, status: 416, reason: target.ok ? "target is not a sip URI" : target.reason });
      return call;
    }
    const targetUri = target.value;
    const destP = opts.destination ? Promise.resolve(opts.destination) : this.resolve(targetUri);
    void destP.then((dest) => {
      if (this.closed) return resolveResult({ ok: false, status: 0, reason: "closed" });
      if (!dest) return resolveResult({ ok: false, status: 503, reason: "target not resolvable" });
      const branch = MAGIC_COOKIE + randomHex(8);
      const seq = 1 + Math.floor(Math.random() * 10000);
      const u: UacState = {
        callId,
        localTag,
        fromHeader: opts.from ?? `<sip:mixer@${this.hostPort()}>`,
        toHeader: opts.to ?? `<${opts.target}>`,
        requestUri: opts.target,
        via: this.newVia(branch),
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
        ["Contact", this.contactHeader("mixer")],
        ["Allow", ALLOW],
        ["User-Agent", this.userAgent],
        ...(opts.headers ?? []),
        ["Content-Type", "application/sdp"],
      ];
      const bytes = serializeRequest("INVITE", opts.target, headers, opts.sdp);
      const tx = new InviteClientTransaction(
        this.layer,
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
      this.uacByKey.set(callId, u);
      this.layer.addClient(tx);
      tx.start();
    });
    return call;
  }

  private settleUac(u: UacState, r: InviteResult): void {
    if (u.settled) return;
    u.settled = true;
    // Keep the state while the 2xx may be retransmitted (to re-send our ACK).
    if (!r.ok) this.uacByKey.delete(u.callId);
    else u.cleanup = setTimeout(() => this.uacByKey.delete(u.callId), this.layer.timers.timerM);
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
      ["User-Agent", this.userAgent],
    ]);
    const tx = new NonInviteClientTransaction(this.layer, branch, "CANCEL", bytes, u.destination, {
      onResponse: () => {},
      onTimeout: () => {},
    });
    this.layer.addClient(tx);
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
          this.reportError(err, "onProvisional");
        }
      }
      return;
    }
    if (res.status >= 300) {
      this.settleUac(u, { ok: false, status: res.status, reason: res.reason });
      return;
    }
    const src = this.responseSource ?? u.destination;
    const remoteTag = res.to.tag ?? "";
    if (u.dialog) {
      // A retransmitted 2xx: our ACK got lost. (A 2xx of another fork is acknowledged too.)
      if (u.dialog.remoteTag === remoteTag && u.ack) this.send(u.ack.bytes, u.ack.destination);
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
    this.dialogs.set(dialog.id, dialog);
    const ackBranch = MAGIC_COOKIE + randomHex(8);
    const { bytes, target } = buildInDialogRequest(dialog, "ACK", u.seq, this.newVia(ackBranch), [
      ["User-Agent", this.userAgent],
    ]);
    void this.destinationOf(target.nextHop).then((dest) => {
      if (this.closed) return;
      const d = dest ?? src;
      u.ack = { bytes, destination: d };
      this.send(bytes, d);
      if (u.cancelRequested) void dialog.bye();
    });
    this.settleUac(u, { ok: true, status: res.status, dialog, sdp });
  }

  private handleResponse(res: SipResponse, src: Destination): void {
    const top = res.via[0];
    const branch = top?.branch;
    if (!branch) return this.drop("response without branch", src);
    const tx = this.layer.client.get(`${branch}|${res.cseq.method}`);
    if (tx) {
      this.responseSource = src;
      try {
        tx.receiveResponse(res);
      } finally {
        this.responseSource = null;
      }
      return;
    }
    // A 2xx retransmitted after the INVITE transaction ended: re-send the ACK.
    if (res.cseq.method === "INVITE" && res.status >= 200 && res.status < 300) {
      const u = this.uacByKey.get(res.callId);
      if (u?.dialog && u.ack && u.dialog.remoteTag === (res.to.tag ?? "")) {
        this.send(u.ack.bytes, u.ack.destination);
        return;
      }
    }
    this.drop("response matches no transaction", src);
  }

}

/** Same as {@link IncomingCall}; the name the app layer's design uses. */
export type IncomingInvite = IncomingCall;
