/**
 * SIP dialogs (RFC 3261 section 12): identifiers, route set, remote target and
 * sequence numbers, plus the pure part of building requests inside a dialog
 * (12.2.1.1). Sending, timers and app callbacks live in `ua.ts`.
 */
import {
  isSipUri,
  type NameAddr,
  type OutgoingHeader,
  parseNameAddr,
  parseUri,
  serializeRequest,
  type SipUri,
} from "./message.ts";
import type { Destination, InviteServerTransaction } from "./transaction.ts";

/** `early`: our 2xx is sent but not yet ACKed (UAS) / not used (UAC); `confirmed`: ACKed; `terminated`: ended. */
export const DIALOG_STATES = ["early", "confirmed", "terminated"] as const;
export type DialogState = (typeof DIALOG_STATES)[number];

/** Why a dialog ended without a BYE exchange. */
export const DIALOG_FAILURE_REASONS = ["ack-timeout"] as const;
export type DialogFailureReason = (typeof DIALOG_FAILURE_REASONS)[number];

/**
 * Why a dialog is terminated: the peer's BYE, ours, a failure, or `moved`: the
 * dialog was handed to another UA (`SipUa.releaseDialog`) and lives on there.
 */
export const DIALOG_END_REASONS = ["bye-received", "bye-sent", "moved", ...DIALOG_FAILURE_REASONS] as const;
export type DialogEndReason = (typeof DIALOG_END_REASONS)[number];

/** How our BYE ended. */
export type ByeResult = { ok: true; status: number } | { ok: false; status: number; reason: string };

/** Options of {@link Dialog.reinvite}. */
export interface ReinviteOptions {
  /** Our SDP offer. */
  readonly sdp: string;
  /**
   * Contact header value to send instead of our own, e.g. `<sip:conf@127.0.0.1:5071>`:
   * the peer's later requests in this dialog then go there (a target refresh).
   */
  readonly contact?: string;
  /** Give up after this many ms without a final response (408). Default timer B (64*T1). */
  readonly timeoutMs?: number;
}

/**
 * How our re-INVITE ended. `ok`: the peer's 2xx (already ACKed) with its SDP answer and
 * Contact. Otherwise the final status: the peer's non-2xx, 408 on timeout, 491 when
 * another INVITE is in progress on the dialog, 481 on an ended dialog, 0 when the UA
 * closed. After 408 or 481 RFC 3261 12.2.1.2 says the dialog SHOULD be ended (`bye()`);
 * the stack leaves that to the app.
 */
export type ReinviteResult =
  | { ok: true; status: number; sdp: string | null; contact: string | null }
  | { ok: false; status: number; reason: string };

/**
 * A dialog as plain JSON-safe data, taken with {@link Dialog.snapshot} on one UA and
 * handed to `SipUa.adoptDialog` on another (another process).
 */
export interface DialogSnapshot {
  role: "uas" | "uac";
  callId: string;
  localTag: string;
  remoteTag: string;
  localHeader: string;
  remoteHeader: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number | null;
  source: { address: string; port: number };
  localSdp: string | null;
  remoteSdp: string | null;
}

/** Internal key of a dialog: Call-ID, local tag, remote tag. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** What a dialog needs from the UA to send requests. */
export interface DialogHost {
  sendBye(dialog: Dialog): Promise<ByeResult>;
  sendReinvite(dialog: Dialog, opts: ReinviteOptions): Promise<ReinviteResult>;
}

/** Fields a dialog is created with (documented on {@link Dialog}). */
export type DialogInit = Readonly<
  Pick<
    Dialog,
    | "role"
    | "callId"
    | "localTag"
    | "remoteTag"
    | "localHeader"
    | "remoteHeader"
    | "remoteTarget"
    | "routeSet"
    | "localSeq"
    | "remoteSeq"
    | "source"
    | "localSdp"
    | "remoteSdp"
  >
>;

/**
 * A SIP dialog as the app sees it: who, where, which SDP; `bye()` ends it.
 *
 * @example
 * ua.handlers.onBye = (dialog) => mixer.remove(dialog.id);
 * await dialog.bye();
 */
export class Dialog {
  /** Opaque unique id (Call-ID + tags), stable for the dialog's life. */
  readonly id: string;
  readonly role: "uas" | "uac";
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our URI header value (without tag): the To of the INVITE we answered, or our From. */
  readonly localHeader: string;
  /** The peer's header value with its tag: the From of the INVITE we answered, or the To of our 2xx. */
  readonly remoteHeader: string;
  /** Where in-dialog requests go (the peer's Contact); refreshed by re-INVITE. */
  remoteTarget: string;
  /** Record-Route values in the order our requests must list them. */
  readonly routeSet: readonly string[];
  /** Our local CSeq: that of the last request we sent in the dialog. */
  localSeq: number;
  /** The peer's CSeq: that of the last request it sent in the dialog; null before the first. */
  remoteSeq: number | null;
  /** Address the dialog-creating request (UAS) or 2xx (UAC) came from. */
  readonly source: Destination;
  state: DialogState;
  /** Our current SDP (answer or offer). */
  localSdp: string | null;
  /** The peer's current SDP. */
  remoteSdp: string | null;
  /** Set when the dialog is terminated. */
  endReason: DialogEndReason | null = null;
  /** Free slot for the app (e.g. its call object). */
  appData: unknown = undefined;

  /** @internal */
  byeResult: Promise<ByeResult> | null = null;
  /** @internal Our 2xx (to the INVITE with this CSeq) waits for its ACK. */
  awaitingAck: { seq: number; tx: InviteServerTransaction; initial: boolean } | null = null;
  /** @internal A re-INVITE waits for the app's answer. */
  reinvitePending = false;
  /** @internal Our re-INVITE has no final response yet. */
  reinviteOutgoing = false;

  constructor(
    private readonly host: DialogHost,
    init: DialogInit,
  ) {
    this.id = dialogKey(init.callId, init.localTag, init.remoteTag);
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localHeader = init.localHeader;
    this.remoteHeader = init.remoteHeader;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.source = init.source;
    this.state = init.role === "uas" ? "early" : "confirmed";
    this.localSdp = init.localSdp;
    this.remoteSdp = init.remoteSdp;
  }

  /**
   * Ends the dialog with a BYE (a non-INVITE client transaction, retransmitted with
   * timers E/F) sent via the route set to the remote target. Resolves with the final
   * response or a timeout; calling it again returns the same promise; on a dialog that
   * the peer already ended it resolves at once.
   */
  bye(): Promise<ByeResult> {
    if (this.byeResult) return this.byeResult;
    if (this.state === "terminated") {
      this.byeResult = Promise.resolve({ ok: true, status: 0 });
      return this.byeResult;
    }
    this.byeResult = this.host.sendBye(this);
    return this.byeResult;
  }

  /**
   * Sends a re-INVITE with a new SDP offer (RFC 3261 14.1), optionally with another
   * Contact so the peer's later requests go elsewhere (target refresh, 12.2): an INVITE
   * client transaction with timers A and B, via the route set to the remote target.
   * On 2xx it sends the ACK (again for each retransmitted 2xx), takes the 2xx's Contact
   * as the new remote target and the offer/answer as `localSdp`/`remoteSdp`. A non-2xx
   * leaves the session as it was. Only one INVITE at a time: while another one is in
   * progress in either direction (ours, the peer's re-INVITE, or our 2xx not yet ACKed)
   * it resolves 491 at once, on a terminated dialog 481. Provisional responses are ignored.
   *
   * @example
   * const r = await dialog.reinvite({ sdp: offerOfNodeB, contact: "<sip:conf@10.0.0.7:5071>" });
   * if (r.ok) handOver(dialog.snapshot());
   */
  reinvite(opts: ReinviteOptions): Promise<ReinviteResult> {
    if (this.state === "terminated" || this.byeResult) {
      return Promise.resolve({ ok: false, status: 481, reason: "Call/Transaction Does Not Exist" });
    }
    if (this.reinviteOutgoing || this.reinvitePending || this.awaitingAck || this.state !== "confirmed") {
      return Promise.resolve({ ok: false, status: 491, reason: "Request Pending" });
    }
    if (opts.contact !== undefined && (/[\r\n]/.test(opts.contact) || !parseNameAddr(opts.contact).ok)) {
      // A programming error, not a SIP outcome: it must not reach the wire.
      return Promise.reject(new TypeError(`reinvite: contact is not a name-addr: ${JSON.stringify(opts.contact)}`));
    }
    return this.host.sendReinvite(this, opts);
  }

  /**
   * The dialog as plain data for `SipUa.adoptDialog` on another UA. Take it when no
   * INVITE is in progress (after our re-INVITE's 2xx): pending transactions stay here.
   *
   * @example
   * const json = JSON.stringify(dialog.snapshot());
   */
  snapshot(): DialogSnapshot {
    return {
      role: this.role,
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: this.remoteTag,
      localHeader: this.localHeader,
      remoteHeader: this.remoteHeader,
      remoteTarget: this.remoteTarget,
      routeSet: [...this.routeSet],
      localSeq: this.localSeq,
      remoteSeq: this.remoteSeq,
      source: { address: this.source.address, port: this.source.port },
      localSdp: this.localSdp,
      remoteSdp: this.remoteSdp,
    };
  }
}

/** A snapshot given to `SipUa.adoptDialog` has a missing or mistyped field. */
export class DialogSnapshotError extends Error {
  constructor(readonly field: string) {
    super(`dialog snapshot: bad or missing field "${field}"`);
    this.name = "DialogSnapshotError";
  }
}

/** `SipUa.adoptDialog` got a snapshot of a dialog that this UA already has. */
export class DuplicateDialogError extends Error {
  constructor(readonly callId: string) {
    super(`dialog with Call-ID ${callId} and these tags already exists on this UA`);
    this.name = "DuplicateDialogError";
  }
}

/**
 * Checks a snapshot that came over the wire (JSON from another process) field by field.
 * Throws {@link DialogSnapshotError} naming the first bad field.
 *
 * @example const snap = parseDialogSnapshot(JSON.parse(body));
 */
export function parseDialogSnapshot(value: unknown): DialogSnapshot {
  if (typeof value !== "object" || value === null) throw new DialogSnapshotError("(snapshot)");
  const v = value as Record<string, unknown>;
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== "string") throw new DialogSnapshotError(k);
    return x;
  };
  const strOrNull = (k: string): string | null => {
    const x = v[k];
    if (x !== null && typeof x !== "string") throw new DialogSnapshotError(k);
    return x as string | null;
  };
  const role = v.role;
  if (role !== "uas" && role !== "uac") throw new DialogSnapshotError("role");
  const routeSet = v.routeSet;
  if (!Array.isArray(routeSet) || !routeSet.every((r) => typeof r === "string")) throw new DialogSnapshotError("routeSet");
  const localSeq = v.localSeq;
  if (typeof localSeq !== "number" || !Number.isInteger(localSeq) || localSeq < 0 || localSeq >= 2 ** 31) {
    throw new DialogSnapshotError("localSeq");
  }
  const remoteSeq = v.remoteSeq;
  if (remoteSeq !== null && (typeof remoteSeq !== "number" || !Number.isInteger(remoteSeq) || remoteSeq < 0)) {
    throw new DialogSnapshotError("remoteSeq");
  }
  const source = v.source as Record<string, unknown> | null | undefined;
  if (typeof source !== "object" || source === null || typeof source.address !== "string" || typeof source.port !== "number") {
    throw new DialogSnapshotError("source");
  }
  const callId = str("callId");
  if (callId.length === 0) throw new DialogSnapshotError("callId");
  const remoteTarget = str("remoteTarget");
  if (!parseUri(remoteTarget).ok) throw new DialogSnapshotError("remoteTarget");
  return {
    role,
    callId,
    localTag: str("localTag"),
    remoteTag: str("remoteTag"),
    localHeader: str("localHeader"),
    remoteHeader: str("remoteHeader"),
    remoteTarget,
    routeSet: [...(routeSet as string[])],
    localSeq,
    remoteSeq,
    source: { address: source.address, port: source.port },
    localSdp: strOrNull("localSdp"),
    remoteSdp: strOrNull("remoteSdp"),
  };
}

/** The next hop and Request-URI of an in-dialog request (RFC 3261 12.2.1.1). */
export interface InDialogTarget {
  readonly requestUri: string;
  readonly routes: readonly string[];
  /** URI of the next hop: the first route (loose routing) or the remote target. */
  readonly nextHop: SipUri | null;
}

function uriOfRoute(route: string): NameAddr | null {
  const r = parseNameAddr(route);
  return r.ok ? r.value : null;
}

/**
 * Request-URI, Route headers and next hop for a request inside a dialog. With a
 * loose-routing first route (`;lr`) the Request-URI is the remote target and the
 * routes are listed as they are; with a strict router the first route becomes the
 * Request-URI and the remote target is appended as the last route.
 */
export function inDialogTarget(remoteTarget: string, routeSet: readonly string[]): InDialogTarget {
  const first = routeSet[0];
  const target = parseUri(remoteTarget);
  const targetSip = target.ok && isSipUri(target.value) ? target.value : null;
  if (first === undefined) return { requestUri: remoteTarget, routes: [], nextHop: targetSip };
  const firstAddr = uriOfRoute(first);
  const firstUri = firstAddr && isSipUri(firstAddr.uri) ? firstAddr.uri : null;
  if (firstUri && !firstUri.params.has("lr")) {
    // Strict routing: the Request-URI is the first route's URI without headers.
    const q = firstUri.raw.indexOf("?");
    return {
      requestUri: q < 0 ? firstUri.raw : firstUri.raw.slice(0, q),
      routes: [...routeSet.slice(1), `<${remoteTarget}>`],
      nextHop: firstUri,
    };
  }
  return { requestUri: remoteTarget, routes: routeSet, nextHop: firstUri };
}

/** Builds a request inside a dialog (RFC 3261 12.2.1.1): To/From/Call-ID/CSeq/Route from the dialog. */
export function buildInDialogRequest(
  dialog: Pick<Dialog, "localHeader" | "localTag" | "remoteHeader" | "callId" | "remoteTarget" | "routeSet">,
  method: string,
  seq: number,
  via: string,
  extra: readonly OutgoingHeader[],
  body?: string,
): { bytes: Uint8Array; target: InDialogTarget } {
  const target = inDialogTarget(dialog.remoteTarget, dialog.routeSet);
  const headers: OutgoingHeader[] = [
    ["Via", via],
    ["Max-Forwards", "70"],
    ["From", `${dialog.localHeader};tag=${dialog.localTag}`],
    ["To", dialog.remoteHeader],
    ["Call-ID", dialog.callId],
    ["CSeq", `${seq} ${method}`],
  ];
  for (const r of target.routes) headers.push(["Route", r]);
  headers.push(...extra);
  return { bytes: serializeRequest(method, target.requestUri, headers, body), target };
}
