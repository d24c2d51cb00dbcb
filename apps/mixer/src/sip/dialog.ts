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

/** How our BYE ended. */
export type ByeResult =
  | { ok: true; status: number }
  | { ok: false; status: number; reason: string };

/** Internal key of a dialog: Call-ID, local tag, remote tag. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** What a dialog needs from the UA to send requests. */
export interface DialogHost {
  sendBye(dialog: Dialog): Promise<ByeResult>;
}

/** Fields a dialog is created with. */
export interface DialogInit {
  readonly role: "uas" | "uac";
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our header value (To for UAS, From for UAC), without our tag. */
  readonly localHeader: string;
  /** Their header value (From for UAS, To for UAC), including their tag. */
  readonly remoteHeader: string;
  readonly remoteTarget: string;
  /** Route set as raw name-addr values, first hop first. */
  readonly routeSet: readonly string[];
  readonly localSeq: number;
  readonly remoteSeq: number | null;
  readonly source: Destination;
  readonly localSdp: string | null;
  readonly remoteSdp: string | null;
}

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
  localSeq: number;
  remoteSeq: number | null;
  /** Address the dialog-creating request (UAS) or 2xx (UAC) came from. */
  readonly source: Destination;
  state: DialogState;
  /** Our current SDP (answer or offer). */
  localSdp: string | null;
  /** The peer's current SDP. */
  remoteSdp: string | null;
  /** Set when the dialog is terminated. */
  endReason: "bye-received" | "bye-sent" | DialogFailureReason | null = null;
  /** Free slot for the app (e.g. its call object). */
  appData: unknown = undefined;

  /** @internal */
  byeResult: Promise<ByeResult> | null = null;
  /** @internal Our 2xx (to the INVITE with this CSeq) waits for its ACK. */
  awaitingAck: { seq: number; tx: InviteServerTransaction; initial: boolean } | null = null;
  /** @internal A re-INVITE waits for the app's answer. */
  reinvitePending = false;

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
