/**
 * Test helper (only used by tests): a scripted recording server on 127.0.0.1 made of
 * a raw SIP UDP socket, which the test drives message by message, and an RTP socket
 * that keeps every packet it receives.
 */
import type { udp } from "bun";
import { bodyText, isSipUri, parseMessage, type SipRequest } from "@conf/sip";

/** One RTP packet as received. */
export interface ReceivedRtp {
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Uint8Array;
  at: number;
}

async function waitUntil<T>(get: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

export class RawUas {
  readonly requests: SipRequest[] = [];
  readonly rtp: ReceivedRtp[] = [];
  readonly toTag = `uas${Math.floor(Math.random() * 1e9).toString(36)}`;
  private byeSeq = 1;

  private constructor(
    private readonly sip: udp.Socket<"buffer">,
    private readonly media: udp.Socket<"buffer">,
  ) {}

  static async open(): Promise<RawUas> {
    let uas: RawUas | null = null;
    const sip = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_s, buf) {
          const r = parseMessage(new Uint8Array(buf));
          if (!r.ok || r.value.kind !== "request" || !uas) return;
          uas.requests.push(r.value);
          // A recorder always lets the call end.
          if (r.value.method === "BYE") uas.respond(r.value, 200, "OK");
        },
      },
    });
    const media = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_s, buf) {
          const b = new Uint8Array(buf);
          if (b.length < 12) return;
          uas?.rtp.push({
            marker: (b[1] as number) >> 7 === 1,
            pt: (b[1] as number) & 0x7f,
            seq: ((b[2] as number) << 8) | (b[3] as number),
            ts: (((b[4] as number) << 24) | ((b[5] as number) << 16) | ((b[6] as number) << 8) | (b[7] as number)) >>> 0,
            ssrc: (((b[8] as number) << 24) | ((b[9] as number) << 16) | ((b[10] as number) << 8) | (b[11] as number)) >>> 0,
            payload: b.slice(12),
            at: performance.now(),
          });
        },
      },
    });
    uas = new RawUas(sip, media);
    return uas;
  }

  get port(): number {
    return this.sip.port;
  }
  get rtpPort(): number {
    return this.media.port;
  }

  count(method: string): number {
    return this.requests.filter((r) => r.method === method).length;
  }

  waitRequest(method: string, timeoutMs = 3000): Promise<SipRequest> {
    return waitUntil(() => this.requests.find((r) => r.method === method), timeoutMs, `${method}`);
  }

  /** An SDP answer pointing at our RTP socket with the given payload types. */
  answerSdp(formats: readonly [number, string][], extra: readonly string[] = []): string {
    return [
      "v=0",
      "o=- 7 7 IN IP4 127.0.0.1",
      "s=-",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=audio ${this.rtpPort} RTP/AVP ${formats.map((f) => f[0]).join(" ")}`,
      ...formats.map(([pt, name]) => `a=rtpmap:${pt} ${name}`),
      ...extra,
      "",
    ].join("\r\n");
  }

  /** Answers `req` (to the address in its top Via). */
  respond(req: SipRequest, status: number, reason: string, sdp?: string): void {
    const lines = [
      `SIP/2.0 ${status} ${reason}`,
      ...req.headers.getAll("via").map((v) => `Via: ${v}`),
      `From: ${req.headers.get("from")}`,
      `To: ${req.headers.get("to")}${status > 100 && !req.to.tag ? `;tag=${this.toTag}` : ""}`,
      `Call-ID: ${req.callId}`,
      `CSeq: ${req.headers.get("cseq")}`,
    ];
    if (req.method === "INVITE" && status >= 200 && status < 300) lines.push(`Contact: <sip:record@127.0.0.1:${this.port}>`);
    const body = sdp ?? "";
    if (body) lines.push("Content-Type: application/sdp");
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, "", body);
    this.sendTo(req, lines.join("\r\n"));
  }

  /** Hangs up the call `invite` set up (which we answered) with an in-dialog BYE. */
  sendBye(invite: SipRequest): void {
    const contact = invite.contacts.find((c) => c !== "*");
    const uri = contact?.uri;
    if (uri === undefined || !isSipUri(uri)) throw new Error("INVITE without a sip Contact");
    const lines = [
      `BYE ${uri.raw} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bKbye${Date.now().toString(36)}${this.byeSeq}`,
      "Max-Forwards: 70",
      `From: ${invite.headers.get("to")};tag=${this.toTag}`,
      `To: ${invite.headers.get("from")}`,
      `Call-ID: ${invite.callId}`,
      `CSeq: ${this.byeSeq++} BYE`,
      "Content-Length: 0",
      "",
      "",
    ];
    this.sip.send(lines.join("\r\n"), uri.port ?? 5060, "127.0.0.1");
  }

  private sendTo(req: SipRequest, text: string): void {
    const via = req.via[0];
    if (!via) throw new Error("request without Via");
    this.sip.send(text, via.port ?? 5060, "127.0.0.1");
  }

  /** The SDP body of a request. */
  static sdpOf(req: SipRequest): string {
    return bodyText(req);
  }

  close(): void {
    this.sip.close();
    this.media.close();
  }
}
