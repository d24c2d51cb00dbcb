/**
 * The SIP user agent over one UDP socket: a UAS for callers (`uas.ts`, RFC 3261
 * sections 8.2, 12, 13.3, 14.2, 15, 16-18 as they apply to a UAS), and a small UAC
 * for calls we place and requests we send in dialogs (`uac.ts`). This file owns the
 * socket, routes datagrams to the two halves and moves dialogs between UAs; what both
 * halves share is in `ua-core.ts`.
 *
 * Hand-written on purpose: no library offers a correct SIP transaction layer for
 * Bun, and this code sits on the signalling hot path of every call. The app layer
 * sees calls, dialogs and events, not SIP messages; every app callback is guarded
 * so that a throwing handler never stops the socket loop.
 */
import type { udp } from "bun";
import {
  type ByeResult,
  Dialog,
  type DialogHost,
  type DialogSnapshot,
  DuplicateDialogError,
  dialogKey,
  parseDialogSnapshot,
  type ReinviteOptions,
  type ReinviteResult,
} from "./dialog.ts";
import { countHeaderLines } from "./limits.ts";
import type { SipMessageCounts } from "./message-counts.ts";
import { type OutgoingHeader, parseMessage, type SipResponse } from "./message.ts";
import type { Destination, TransactionLayer } from "./transaction.ts";
import { type SipUaHandlers, type SipUaOptions, UaCore } from "./ua-core.ts";
import { Uac, type OutgoingCall, type OutgoingInviteOptions } from "./uac.ts";
import { type CallHost, type IncomingCall, Uas } from "./uas.ts";

export {
  type AckInfo,
  KNOWN_UNSUPPORTED_METHODS,
  type ReinviteAnswer,
  type ReinviteOffer,
  type SdpDirection,
  type SipUaHandlers,
  type SipTransportName,
  type SipUaOptions,
  SUPPORTED_METHODS,
} from "./ua-core.ts";
export type { InviteResult, OutgoingCall, OutgoingInviteOptions } from "./uac.ts";
export { INCOMING_CALL_STATES, IncomingCall, type IncomingCallState, type IncomingInvite } from "./uas.ts";

type UdpSocket = udp.Socket<"buffer">;

/**
 * Where a UA's messages go and come from: its UDP socket, or connections the app holds
 * (SIP over WebSocket, RFC 7118: the app names each connection with a Destination of
 * its own, feeds what arrives to `SipUa.receive`, and sends what `send` is given back
 * on that connection).
 */
export interface SipTransport {
  /** The bound address (for logs and `SipUa.address`). */
  readonly address: Destination;
  /** Sends one message; must not throw. */
  send(data: Uint8Array, dest: Destination): void;
  close(): void;
}

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
function udpTransport(socket: UdpSocket): SipTransport {
  return {
    get address() {
      return { address: socket.hostname, port: socket.port };
    },
    send: (data, dest) => {
      socket.send(data, dest.port, dest.address);
    },
    close: () => socket.close(),
  };
}

export class SipUa implements DialogHost, CallHost {
  readonly layer: TransactionLayer;
  /** Confirmed and early (answered, awaiting ACK) dialogs by id. */
  readonly dialogs: Map<string, Dialog>;
  private readonly core: UaCore;
  private readonly uas: Uas;

  /** SIP messages by method and status code, received and sent, since the UA started. */
  get messages(): SipMessageCounts {
    return this.core.messages;
  }
  private readonly uac: Uac;

  private constructor(
    private readonly socket: SipTransport,
    /** Host put in Via and Contact. */
    readonly advertisedHost: string,
    /** Port put in Via and Contact. */
    readonly advertisedPort: number,
    options: SipUaOptions,
  ) {
    this.core = new UaCore((data, dest) => this.socket.send(data, dest), advertisedHost, advertisedPort, options);
    this.layer = this.core.layer;
    this.dialogs = this.core.dialogs;
    this.uac = new Uac(this.core);
    this.uas = new Uas(this.core, this.uac, options);
  }

  /** The app's callbacks; replace them or any one of them at any time. */
  get handlers(): SipUaHandlers {
    return this.core.handlers;
  }

  set handlers(h: SipUaHandlers) {
    this.core.handlers = h;
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
        // Bun 1.x calls this with the error alone (`this` is the socket), though its
        // types declare (socket, error): take whichever argument is the error.
        error(a: unknown, b?: unknown) {
          ua?.reportError(b instanceof Error ? b : a instanceof Error ? a : (b ?? a), "socket");
        },
      },
    });
    ua = new SipUa(udpTransport(socket), options.advertisedHost ?? host, options.advertisedPort ?? socket.port, options);
    return ua;
  }

  /**
   * A UA over a transport the app runs (SIP over WebSocket): the app feeds every
   * message it receives to `receive(data, source)`, where `source` names the connection
   * it came on; responses and our requests to that source go to `transport.send`.
   *
   * @example
   * const ua = SipUa.overTransport({ address, send: (d, to) => conns.get(to.port)?.send(d), close() {} },
   *   { transport: "WS", forceRport: true, handlers });
   */
  static overTransport(transport: SipTransport, options: SipUaOptions = {}): SipUa {
    return new SipUa(
      transport,
      options.advertisedHost ?? transport.address.address,
      options.advertisedPort ?? transport.address.port,
      options,
    );
  }

  /** The bound address. */
  get address(): Destination {
    return this.socket.address;
  }

  get isClosed(): boolean {
    return this.core.closed;
  }

  /**
   * Stops: clears every timer, settles pending promises, closes the socket. Sends no
   * BYE (end dialogs first if the peers should know). Idempotent.
   */
  close(): void {
    if (this.core.closed) return;
    this.core.closed = true;
    this.layer.close();
    this.uas.close();
    this.uac.close();
    for (const m of this.core.moved.values()) clearTimeout(m.timer);
    this.core.moved.clear();
    this.core.byeAfterAck.clear();
    this.socket.close();
  }

  /**
   * This UA's Contact header value with the given user part, e.g. for another node to
   * put in its re-INVITE when it hands a dialog over to this UA. Users with characters
   * outside `[A-Za-z0-9+*#._-]` are left out.
   *
   * @example ua.contact("conf") // "<sip:conf@127.0.0.1:5071>"
   */
  contact(user: string | null = null): string {
    return this.core.contactHeader(user);
  }

  /** @internal */
  reportError(err: unknown, context: string): void {
    this.core.reportError(err, context);
  }

  /** Feeds one message (the socket's callback; for `overTransport`, the app's). */
  receive(data: Uint8Array, src: Destination, truncated = false): void {
    if (this.core.closed) return;
    this.layer.counters.received++;
    try {
      if (truncated) return this.core.drop("truncated datagram", src);
      // Size and header count first, by counting bytes: parsing is what a big message costs.
      if (data.length > this.core.limits.maxMessageBytes) return this.uas.tooLarge(data, src);
      if (countHeaderLines(data, this.core.limits.maxHeaders) > this.core.limits.maxHeaders) {
        return this.core.drop(`more than ${this.core.limits.maxHeaders} header lines`, src);
      }
      // Bun may reuse its receive buffer: the message (and its body slices) must own its bytes.
      const r = parseMessage(new Uint8Array(data));
      if (!r.ok) return this.uas.handleParseFailure(r, src);
      if (r.value.kind === "request") {
        this.core.messages.requestReceived(r.value.method);
        this.uas.handleRequest(r.value, src);
      } else {
        this.core.messages.responseReceived(r.value.status);
        this.handleResponse(r.value, src);
      }
    } catch (err) {
      this.core.reportError(err, "receive");
    }
  }

  private handleResponse(res: SipResponse, src: Destination): void {
    const top = res.via[0];
    const branch = top?.branch;
    if (!branch) return this.core.drop("response without branch", src);
    const tx = this.core.layer.client.get(`${branch}|${res.cseq.method}`);
    if (tx) {
      this.core.responseSource = src;
      try {
        tx.receiveResponse(res);
      } finally {
        this.core.responseSource = null;
      }
      return;
    }
    // A 2xx retransmitted after the INVITE transaction ended: re-send the ACK.
    if (this.uac.reAck(res)) return;
    this.core.drop("response matches no transaction", src);
  }

  /** @internal CallHost */
  provisional(call: IncomingCall, status: number, sdp: string | null): boolean {
    return this.uas.provisional(call, status, sdp);
  }

  /** @internal CallHost */
  accept(call: IncomingCall, sdp: string): Dialog | null {
    return this.uas.accept(call, sdp);
  }

  /** @internal CallHost */
  reject(call: IncomingCall, status: number, reason: string | undefined, headers: readonly OutgoingHeader[]): boolean {
    return this.uas.reject(call, status, reason, headers);
  }

  /** @internal DialogHost: sends (or defers until the ACK) our BYE. */
  sendBye(dialog: Dialog): Promise<ByeResult> {
    return this.uac.sendBye(dialog);
  }

  /** @internal DialogHost: sends our re-INVITE; `Dialog.reinvite` has checked the dialog's state. */
  sendReinvite(dialog: Dialog, opts: ReinviteOptions): Promise<ReinviteResult> {
    return this.uac.sendReinvite(dialog, opts);
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
    if (this.core.dialogs.get(dialog.id) !== dialog) return;
    this.core.endDialog(dialog, "moved");
    dialog.endReason = "moved";
    // Only a BYE deferred until the ACK can still be pending here: started BYEs
    // already took the dialog out of `dialogs`.
    this.uac.dropDeferredBye(dialog);
    if (this.core.closed) return;
    const t = this.core.layer.timers;
    const timer = setTimeout(() => this.core.moved.delete(dialog.id), keepMs ?? Math.max(64 * t.t1, t.timerM));
    this.core.forgetMoved(dialog.id);
    this.core.moved.set(dialog.id, { dialog, timer });
  }

  /** The new owner says a released dialog has ended: requests for it here get 481 from now on. */
  forgetReleased(dialog: Dialog): void {
    this.core.forgetMoved(dialog.id);
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
    if (this.core.closed) throw new Error("SipUa is closed");
    const snap = parseDialogSnapshot(snapshot);
    const id = dialogKey(snap.callId, snap.localTag, snap.remoteTag);
    if (this.core.dialogs.has(id)) throw new DuplicateDialogError(snap.callId);
    this.core.forgetMoved(id);
    const dialog = new Dialog(this.uac, snap);
    dialog.state = "confirmed";
    this.core.dialogs.set(id, dialog);
    return dialog;
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
    return this.uac.invite(opts);
  }
}
