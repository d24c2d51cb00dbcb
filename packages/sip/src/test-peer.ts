/**
 * Test helper: a raw UDP SIP peer on 127.0.0.1 that records every message it receives
 * and sends hand-written ones, so tests can play a UAC or UAS message by message.
 * Only used by tests.
 */
import type { udp } from "bun";
import { parseMessage, type SipMessage, type SipRequest, type SipResponse } from "./message.ts";

export interface Received {
  readonly msg: SipMessage;
  readonly raw: string;
  readonly from: { address: string; port: number };
  readonly at: number;
}

export class RawPeer {
  readonly received: Received[] = [];
  readonly garbage: string[] = [];
  private waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  private constructor(private readonly socket: udp.Socket<"buffer">) {}

  /** `host`: another loopback address (127.0.0.2, ...) plays another source. */
  static async open(host = "127.0.0.1"): Promise<RawPeer> {
    let peer: RawPeer | null = null;
    const socket = await Bun.udpSocket({
      hostname: host,
      port: 0,
      socket: {
        data(_s, buf, port, address) {
          peer?.onData(new Uint8Array(buf), { address, port });
        },
      },
    });
    peer = new RawPeer(socket);
    return peer;
  }

  get port(): number {
    return this.socket.port;
  }

  private onData(buf: Uint8Array, from: { address: string; port: number }): void {
    const raw = new TextDecoder().decode(buf);
    const r = parseMessage(buf);
    if (!r.ok) {
      this.garbage.push(raw);
      return;
    }
    const rec: Received = { msg: r.value, raw, from, at: performance.now() };
    this.received.push(rec);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(rec)) return true;
      w.resolve(rec);
      return false;
    });
  }

  send(text: string | Uint8Array, port: number, host = "127.0.0.1"): void {
    this.socket.send(text, port, host);
  }

  /**
   * Sends `request(spec)` from this peer to the UA listening on 127.0.0.1:`uaPort`.
   * @example peer.sendRequest(ua.address.port, { method: "OPTIONS", callId: "o-1", cseq: 1 });
   */
  sendRequest(uaPort: number, spec: Omit<RequestSpec, "uaPort" | "peerPort">): void {
    this.send(request({ ...spec, uaPort, peerPort: this.port }), uaPort);
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  waitFor(pred: (r: Received) => boolean, timeoutMs = 2000, what = "message"): Promise<Received> {
    const hit = this.received.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Received>((resolve, reject) => {
      const w = {
        pred,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Waits for a response with this status (and optionally CSeq method and Call-ID). */
  waitResponse(status: number, method?: string, callId?: string, timeoutMs = 2000): Promise<SipResponse> {
    return this.waitFor(
      (r) =>
        r.msg.kind === "response" &&
        r.msg.status === status &&
        (method === undefined || r.msg.cseq.method === method) &&
        (callId === undefined || r.msg.callId === callId),
      timeoutMs,
      `${status} ${method ?? ""}`,
    ).then((r) => r.msg as SipResponse);
  }

  waitRequest(method: string, callId?: string, timeoutMs = 2000): Promise<SipRequest> {
    return this.waitFor(
      (r) => r.msg.kind === "request" && r.msg.method === method && (callId === undefined || r.msg.callId === callId),
      timeoutMs,
      `${method} request`,
    ).then((r) => r.msg as SipRequest);
  }

  count(pred: (m: SipMessage) => boolean): number {
    return this.received.filter((r) => pred(r.msg)).length;
  }

  close(): void {
    this.socket.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let counter = 0;
/** A fresh RFC 3261 branch. */
export function branch(): string {
  counter += 1;
  return `z9hG4bK${Date.now().toString(36)}x${counter}`;
}

export interface RequestSpec {
  method: string;
  uri?: string;
  /** UA port the request goes to (for the default Request-URI). */
  uaPort: number;
  /** Our port (for Via and Contact). */
  peerPort: number;
  callId: string;
  fromTag?: string;
  toTag?: string;
  cseq: number;
  cseqMethod?: string;
  branch?: string;
  rport?: boolean;
  viaHost?: string;
  headers?: string[];
  body?: string;
  contentType?: string;
  /** Contact header value; default our own address. */
  contact?: string;
}

/** Builds a request as a caller would write it. */
export function request(s: RequestSpec): string {
  const body = s.body ?? "";
  const lines = [
    `${s.method} ${s.uri ?? `sip:15162065919@127.0.0.1:${s.uaPort}`} SIP/2.0`,
    `Via: SIP/2.0/UDP ${s.viaHost ?? `127.0.0.1:${s.peerPort}`};branch=${s.branch ?? branch()}${s.rport === false ? "" : ";rport"}`,
    "Max-Forwards: 70",
    `From: "Caller" <sip:+15551230000@127.0.0.1>;tag=${s.fromTag ?? "ft1"}`,
    `To: <sip:15162065919@127.0.0.1>${s.toTag ? `;tag=${s.toTag}` : ""}`,
    `Call-ID: ${s.callId}`,
    `CSeq: ${s.cseq} ${s.cseqMethod ?? s.method}`,
    `Contact: ${s.contact ?? `<sip:caller@127.0.0.1:${s.peerPort}>`}`,
    ...(s.headers ?? []),
  ];
  if (body.length > 0) lines.push(`Content-Type: ${s.contentType ?? "application/sdp"}`);
  lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`, "", body);
  return lines.join("\r\n");
}

/**
 * A response to `req` (a request our UA sent) as the far end writes it. `toTag`, when
 * given, is added to a To without a tag on responses above 100, as a UAS creating the
 * dialog would.
 */
export function reply(req: SipRequest, status: number, reason: string, extra: string[] = [], body = "", toTag = ""): string {
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...req.headers.getAll("via").map((v) => `Via: ${v}`),
    `From: ${req.headers.get("from")}`,
    `To: ${req.headers.get("to")}${toTag && status > 100 && !req.to.tag ? `;tag=${toTag}` : ""}`,
    `Call-ID: ${req.callId}`,
    `CSeq: ${req.headers.get("cseq")}`,
    ...extra,
  ];
  if (body) lines.push("Content-Type: application/sdp");
  lines.push(`Content-Length: ${body.length}`, "", body);
  return lines.join("\r\n");
}

export function sdp(port: number, direction = "sendrecv", ip = "127.0.0.1"): string {
  return [
    "v=0",
    `o=- 1 1 IN IP4 ${ip}`,
    "s=-",
    `c=IN IP4 ${ip}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    `a=${direction}`,
    "",
  ].join("\r\n");
}
