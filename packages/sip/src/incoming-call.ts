/**
 * A call offered to us (an INVITE we have not answered yet) as the app sees it: accept,
 * reject, or wait. Apart from uas.ts so that ua-core.ts can name it in the handlers'
 * types without importing the server side.
 */
import type { Dialog } from "./dialog.ts";
import { bodyText, type NameAddr, type OutgoingHeader, type SipRequest, uriUser } from "./message.ts";
import type { Destination, InviteServerTransaction } from "./transaction.ts";

export const INCOMING_CALL_STATES = ["offered", "early", "answered", "rejected", "cancelled", "timed-out"] as const;
export type IncomingCallState = (typeof INCOMING_CALL_STATES)[number];

export interface CallHost {
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
