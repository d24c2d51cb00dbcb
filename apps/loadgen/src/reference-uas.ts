/**
 * A minimal answering side used to test and calibrate the generator without the real
 * service: it answers INVITE (100, 200 with an SDP answer and one RTP socket per call),
 * collects RFC 4733 digits (each event once, whatever the redundancy), and sends each
 * caller 20 ms PCMU frames from its own drift-free clock (symmetric RTP: to where the
 * caller's packets come from). It does no mixing: running the generator against it
 * measures the generator's own cost and timing noise (`bench.ts --calibrate`).
 */
import type { udp } from "bun";
import { Ticker } from "./clock.ts";
import { buildRequest, buildResponse, header, parseSip, randomToken, type SipMessage } from "./sip/message.ts";
import { emptyHeader, readRtpHeader, RTP_HEADER_LEN, writeRtpHeader } from "./rtp/packet.ts";
import { ULAW_SILENCE } from "./rtp/g711.ts";

const KEYS = "0123456789*#ABCD";

/** What the reference UAS knows about one call. */
export interface RefCall {
  callId: string;
  from: string;
  digits: string;
  rtpPort: number;
  packetsIn: number;
  peer: { port: number; address: string } | null;
  ended: boolean;
}

interface RefCallState extends RefCall {
  socket: udp.Socket<"buffer">;
  invite: SipMessage;
  sipFrom: { port: number; address: string };
  lastEvent: { ts: number; ended: boolean } | null;
  seq: number;
  ts: number;
  ssrc: number;
  localTag: string;
}

export interface ReferenceUasOptions {
  hostname?: string;
  sipPort?: number;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Start sending media only after '#' (like an IVR admitting the caller). Default false. */
  mediaAfterHash?: boolean;
  /** Drop this fraction of outgoing packets (to test loss accounting). Default 0. */
  dropRate?: number;
}

/** Start a reference UAS. */
export async function startReferenceUas(opts: ReferenceUasOptions) {
  const host = opts.hostname ?? "127.0.0.1";
  const calls = new Map<string, RefCallState>();
  const frame = new Uint8Array(RTP_HEADER_LEN + 160).fill(ULAW_SILENCE, RTP_HEADER_LEN);
  let nextPort = opts.rtpPortMin;
  let sent = 0;
  let dropped = 0;
  const hdr = emptyHeader();

  const sip = await Bun.udpSocket({
    hostname: host,
    port: opts.sipPort ?? 0,
    socket: {
      data(_s, data, port, address) {
        const msg = parseSip(data);
        if (!msg || msg.kind !== "request") return;
        void onRequest(msg, { port, address });
      },
      error() {},
    },
  });

  const reply = (text: string, to: { port: number; address: string }) => sip.send(text, to.port, to.address);

  async function bindRtp(state: () => RefCallState | undefined): Promise<udp.Socket<"buffer">> {
    for (let i = 0; i <= opts.rtpPortMax - opts.rtpPortMin; i++) {
      const port = nextPort;
      nextPort = port + 1 > opts.rtpPortMax ? opts.rtpPortMin : port + 1;
      try {
        return await Bun.udpSocket({
          hostname: host,
          port,
          socket: {
            data(_s, data, rport, raddr) {
              const c = state();
              if (!c || c.ended) return;
              if (!readRtpHeader(data, hdr)) return;
              c.packetsIn++;
              c.peer ??= { port: rport, address: raddr };
              if (hdr.payloadType === 101 && hdr.payloadLength >= 4) {
                const ev = data[hdr.payloadOffset]!;
                const end = (data[hdr.payloadOffset + 1]! & 0x80) !== 0;
                // Count an event once: on its first end packet.
                const last = c.lastEvent;
                if (end && !(last && last.ts === hdr.timestamp && last.ended)) c.digits += KEYS[ev] ?? "?";
                c.lastEvent = { ts: hdr.timestamp, ended: end };
              }
            },
            error() {},
          },
        });
      } catch {
        // in use: next
      }
    }
    throw new Error("reference UAS: no free RTP port");
  }

  async function onRequest(msg: SipMessage, from: { port: number; address: string }): Promise<void> {
    const callId = header(msg, "call-id") ?? "";
    if (msg.method === "INVITE") {
      const existing = calls.get(callId);
      if (existing) {
        reply(answer(existing), from);
        return;
      }
      reply(buildResponse(msg, 100, "Trying"), from);
      let state: RefCallState | undefined;
      let socket: udp.Socket<"buffer">;
      try {
        socket = await bindRtp(() => state);
      } catch {
        reply(buildResponse(msg, 503, "Service Unavailable", [], "", randomToken(4)), from);
        return;
      }
      state = {
        callId,
        from: header(msg, "from") ?? "",
        digits: "",
        rtpPort: socket.port,
        packetsIn: 0,
        peer: null,
        ended: false,
        socket,
        invite: msg,
        sipFrom: from,
        lastEvent: null,
        seq: 0,
        ts: 0,
        ssrc: (Math.random() * 2 ** 32) >>> 0,
        localTag: randomToken(4),
      };
      calls.set(callId, state);
      reply(answer(state), from);
      return;
    }
    if (msg.method === "BYE") {
      const c = calls.get(callId);
      reply(buildResponse(msg, c ? 200 : 481, c ? "OK" : "Call/Transaction Does Not Exist"), from);
      if (c) end(c);
      return;
    }
    if (msg.method === "ACK") return;
    reply(buildResponse(msg, 200, "OK"), from);
  }

  function answer(c: RefCallState): string {
    const sdp =
      `v=0\r\no=ref 1 1 IN IP4 ${host}\r\ns=ref\r\nc=IN IP4 ${host}\r\nt=0 0\r\n` +
      `m=audio ${c.rtpPort} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n` +
      `a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n`;
    return buildResponse(
      c.invite,
      200,
      "OK",
      [
        ["Contact", `<sip:ref@${host}:${sip.port}>`],
        ["Content-Type", "application/sdp"],
      ],
      sdp,
      c.localTag,
    );
  }

  function end(c: RefCallState): void {
    if (c.ended) return;
    c.ended = true;
    c.socket.close();
  }

  const dropRate = opts.dropRate ?? 0;
  const ticker = new Ticker({
    periodMs: 20,
    onTick: () => {
      for (const c of calls.values()) {
        if (c.ended || !c.peer) continue;
        if (opts.mediaAfterHash && !c.digits.includes("#")) continue;
        writeRtpHeader(frame, c.seq === 0, 0, c.seq & 0xffff, c.ts >>> 0, c.ssrc);
        c.seq++;
        c.ts += 160;
        if (dropRate > 0 && Math.random() < dropRate) {
          dropped++;
          continue;
        }
        try {
          c.socket.send(frame, c.peer.port, c.peer.address);
          sent++;
        } catch {
          // The caller's port is gone (ICMP unreachable reported on this socket).
        }
      }
    },
  });
  ticker.startAt();

  return {
    port: sip.port,
    calls: (): RefCall[] =>
      [...calls.values()].map(({ callId, from, digits, rtpPort, packetsIn, peer, ended }) => ({
        callId,
        from,
        digits,
        rtpPort,
        packetsIn,
        peer,
        ended,
      })),
    counters: () => ({ sent, dropped }),
    /** Hang up one call from the server side. */
    bye(callId: string): void {
      const c = calls.get(callId);
      if (!c || c.ended) return;
      const inv = c.invite;
      const contact = /<([^>]+)>/.exec(header(inv, "contact") ?? "")?.[1] ?? inv.uri;
      reply(
        buildRequest("BYE", contact, [
          ["Via", `SIP/2.0/UDP ${host}:${sip.port};branch=z9hG4bK${randomToken(6)}`],
          ["From", `${header(inv, "to") ?? ""};tag=${c.localTag}`],
          ["To", header(inv, "from") ?? ""],
          ["Call-ID", c.callId],
          ["CSeq", "1 BYE"],
        ]),
        c.sipFrom,
      );
      end(c);
    },
    close(): void {
      ticker.stop();
      for (const c of calls.values()) end(c);
      sip.close();
    },
  };
}

export type ReferenceUas = Awaited<ReturnType<typeof startReferenceUas>>;

if (import.meta.main) {
  // CLI for `bench.ts --calibrate`: bun run reference-uas.ts SIP_PORT RTP_MIN RTP_MAX
  const [sipPort, min, max] = process.argv.slice(2).map(Number);
  const uas = await startReferenceUas({
    sipPort: sipPort ?? 5060,
    rtpPortMin: min ?? 20000,
    rtpPortMax: max ?? 29999,
    mediaAfterHash: true,
  });
  console.log(`reference UAS on udp ${uas.port}`);
  process.on("SIGTERM", () => {
    uas.close();
    process.exit(0);
  });
}
