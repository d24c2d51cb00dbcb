/**
 * A minimal answering side used to test and calibrate the generator without the real
 * service: it answers INVITE (100, 200 with an SDP answer and one RTP socket per call),
 * collects RFC 4733 digits (each event once, whatever the redundancy), and sends each
 * caller 20 ms PCMU frames from its own drift-free clock (symmetric RTP: to where the
 * caller's packets come from). It does no mixing: running the generator against it
 * measures the generator's own cost and timing noise (`bench.ts --calibrate`).
 *
 * With `moveAfterHash` it also plays a multi-process service: once a call's '#' is in, it
 * hands the call to a "second node" (a second SIP socket and a new RTP socket with a new
 * SSRC, sequence and timestamp base) by a re-INVITE sent from that socket, whose Contact
 * and SDP name the new ports.
 *
 * With `echo` the RTP is not ours: a C program (reference/rtp-echo.c) owns a few sockets
 * and sends each caller a packet per 20 ms with recvmmsg/sendmmsg; this only answers the
 * SIP and names one of its sockets in each SDP answer (never two calls from the same
 * source on one socket, as the mixer's shared sockets do). The bench's `echo` scenario
 * measures that program's CPU beside the mixer's: the cost of the packets alone.
 */
import type { udp } from "bun";
import { Ticker } from "./clock.ts";
import {
  createRtpHeader,
  DTMF_KEYS,
  parseAnswer,
  parseRtp,
  RTP_HEADER_SIZE as RTP_HEADER_LEN,
  ULAW_SILENCE,
  writeRtpHeader,
} from "@conf/media";
import {
  bodyText,
  isSipUri,
  type OutgoingHeader,
  parseMessage,
  parseUri,
  type SipMessage,
  type SipRequest,
  serializeRequest,
  serializeResponse,
} from "@conf/sip";
import { randomToken } from "./random.ts";

/** The first Contact URI of a message, if any. */
function contactUri(msg: SipMessage): string | undefined {
  for (const c of msg.contacts) if (c !== "*") return c.uri.raw;
  return undefined;
}

/** Host and port of a SIP URI (5060 by default). */
function hostPortOf(uri: string): { host: string; port: number } | undefined {
  const r = parseUri(uri);
  if (!r.ok || !isSipUri(r.value)) return undefined;
  return { host: r.value.host.replace(/^\[|\]$/g, ""), port: r.value.port ?? 5060 };
}

/** A response to `req`, copying Via, From, To (with `toTag` unless it has one), Call-ID and CSeq (RFC 3261 8.2.6). */
function buildResponse(
  req: SipRequest,
  status: number,
  reason: string,
  extra: OutgoingHeader[] = [],
  body = "",
  toTag?: string,
): Uint8Array {
  const headers: OutgoingHeader[] = req.headers.getAll("via").map((v): OutgoingHeader => ["Via", v]);
  let to = req.headers.get("to") ?? "";
  if (toTag && req.to.tag === null) to += `;tag=${toTag}`;
  headers.push(
    ["From", req.headers.get("from") ?? ""],
    ["To", to],
    ["Call-ID", req.callId],
    ["CSeq", req.headers.get("cseq") ?? ""],
  );
  headers.push(...extra);
  return serializeResponse(status, reason, headers, body);
}

/** What the reference UAS knows about one call. */
export interface RefCall {
  callId: string;
  from: string;
  digits: string;
  rtpPort: number;
  packetsIn: number;
  peer: { port: number; address: string } | null;
  ended: boolean;
  /** The call was moved to the second node (its re-INVITE got a 200 and was ACKed). */
  moved: boolean;
  /** Final status of the move's re-INVITE, or null while none was answered. */
  moveStatus: number | null;
  /** Local SIP port at which the caller's BYE arrived, or null. */
  byePort: number | null;
}

type Addr = { port: number; address: string };

interface RefCallState extends RefCall {
  /** Our RTP socket; null when the C echo carries the call's RTP. */
  socket: udp.Socket<"buffer"> | null;
  /** With `echo`: the echo socket (index) and the caller's SDP source it holds there. */
  echo: { socket: number; source: string } | null;
  invite: SipRequest;
  sipFrom: Addr;
  /** The SIP socket the call lives on now (the second node's after a move). */
  sip: udp.Socket<"buffer">;
  lastEvent: { ts: number; ended: boolean } | null;
  seq: number;
  ts: number;
  ssrc: number;
  markNext: boolean;
  localTag: string;
  /** Our CSeq for requests we send in the dialog. */
  localSeq: number;
  /** The move under way: its re-INVITE, the new RTP socket and the retransmission timer. */
  move: { request: Uint8Array; seq: number; socket: udp.Socket<"buffer">; timer: ReturnType<typeof setTimeout> | null } | null;
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
  /** Move each call to a second SIP socket and a new RTP port by re-INVITE once its '#' is in. Default false. */
  moveAfterHash?: boolean;
  /** Wait after the '#' before moving, ms, while the first node sends media. Default 0. */
  moveDelayMs?: number;
  /** SIP T1 for the re-INVITE's retransmissions, ms. Default 500. */
  t1Ms?: number;
  /** Leave RTP to the C echo program: its path, and its sockets on rtpPortMin, rtpPortMin + 1, ... */
  echo?: { binary: string; sockets: number };
}

/** Starts the C echo on `sockets` ports from `basePort`; resolves once it has bound them all. */
async function startEcho(binary: string, host: string, basePort: number, sockets: number) {
  const proc = Bun.spawn([binary, host, String(basePort), String(sockets)], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`rtp-echo exited (${await proc.exited}) before binding ${host}:${basePort}+${sockets}`);
    text += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  return proc;
}

/** Start a reference UAS. */
export async function startReferenceUas(opts: ReferenceUasOptions) {
  const host = opts.hostname ?? "127.0.0.1";
  const calls = new Map<string, RefCallState>();
  const frame = new Uint8Array(RTP_HEADER_LEN + 160).fill(ULAW_SILENCE, RTP_HEADER_LEN);
  let nextPort = opts.rtpPortMin;
  let sent = 0;
  let dropped = 0;
  const hdr = createRtpHeader();

  const t1 = opts.t1Ms ?? 500;
  const echo = opts.echo ? await startEcho(opts.echo.binary, host, opts.rtpPortMin, opts.echo.sockets) : null;
  /** Per echo socket: calls on it, and the callers' SDP sources (address:port) it holds. */
  const echoSockets = Array.from({ length: opts.echo?.sockets ?? 0 }, () => ({ calls: 0, sources: new Set<string>() }));
  /** The least busy echo socket that holds no call from `source`, or -1. */
  const pickEcho = (source: string): number => {
    let best = -1;
    for (let i = 0; i < echoSockets.length; i++) {
      const e = echoSockets[i]!;
      if (!e.sources.has(source) && (best < 0 || e.calls < echoSockets[best]!.calls)) best = i;
    }
    return best;
  };
  const openSip = (port: number) =>
    Bun.udpSocket({
      hostname: host,
      port,
      socket: {
        data(s, data, rport, address) {
          const parsed = parseMessage(new Uint8Array(data));
          if (!parsed.ok) return;
          const msg = parsed.value;
          if (msg.kind === "request") void onRequest(msg, { port: rport, address }, s);
          else onResponse(msg, { port: rport, address });
        },
        error() {},
      },
    });
  const sip = await openSip(opts.sipPort ?? 0);
  // The "second node" calls move to: another SIP port on the same host.
  const sip2 = opts.moveAfterHash ? await openSip(0) : null;

  const reply = (text: Uint8Array, to: Addr, via: udp.Socket<"buffer"> = sip) => {
    try {
      via.send(text, to.port, to.address);
    } catch {
      // The caller's port is gone; nothing to do in a reference UAS.
    }
  };

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
              if (!parseRtp(data, 0, data.length, hdr)) return;
              c.packetsIn++;
              c.peer ??= { port: rport, address: raddr };
              if (hdr.payloadType === 101 && hdr.payloadLength >= 4) {
                const ev = data[hdr.payloadOffset]!;
                const end = (data[hdr.payloadOffset + 1]! & 0x80) !== 0;
                // Count an event once: on its first end packet.
                const last = c.lastEvent;
                if (end && !(last && last.ts === hdr.timestamp && last.ended)) {
                  c.digits += DTMF_KEYS[ev] ?? "?";
                  if (ev === 11 && sip2 && !c.moved && !c.move) {
                    const node = sip2;
                    setTimeout(() => void startMove(c, node), opts.moveDelayMs ?? 0);
                  }
                }
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

  async function onRequest(msg: SipRequest, from: Addr, via: udp.Socket<"buffer">): Promise<void> {
    const callId = msg.callId;
    if (msg.method === "INVITE") {
      const existing = calls.get(callId);
      if (existing) {
        // A retransmission of the first INVITE (we send no re-INVITE the caller could answer with one).
        reply(answer(existing), from, via);
        return;
      }
      reply(buildResponse(msg, 100, "Trying"), from);
      let state: RefCallState | undefined;
      let socket: udp.Socket<"buffer"> | null = null;
      let echoAt: RefCallState["echo"] = null;
      if (echo) {
        const offer = parseAnswer(bodyText(msg), ["PCMU"]);
        const source = offer.ok ? `${offer.value.remoteAddress}:${offer.value.remotePort}` : "";
        const at = offer.ok ? pickEcho(source) : -1;
        if (at < 0) {
          reply(
            buildResponse(
              msg,
              offer.ok ? 503 : 488,
              offer.ok ? "Service Unavailable" : "Not Acceptable Here",
              [],
              "",
              randomToken(4),
            ),
            from,
          );
          return;
        }
        echoSockets[at]!.calls++;
        echoSockets[at]!.sources.add(source);
        echoAt = { socket: at, source };
      } else {
        try {
          socket = await bindRtp(() => state);
        } catch {
          reply(buildResponse(msg, 503, "Service Unavailable", [], "", randomToken(4)), from);
          return;
        }
      }
      state = {
        callId,
        from: msg.headers.get("from") ?? "",
        digits: "",
        rtpPort: socket ? socket.port : opts.rtpPortMin + (echoAt?.socket ?? 0),
        packetsIn: 0,
        peer: null,
        ended: false,
        moved: false,
        moveStatus: null,
        byePort: null,
        socket,
        echo: echoAt,
        invite: msg,
        sipFrom: from,
        sip,
        lastEvent: null,
        seq: 0,
        ts: 0,
        ssrc: (Math.random() * 2 ** 32) >>> 0,
        markNext: true,
        localTag: randomToken(4),
        localSeq: 1,
        move: null,
      };
      calls.set(callId, state);
      reply(answer(state), from);
      return;
    }
    if (msg.method === "BYE") {
      const c = calls.get(callId);
      reply(buildResponse(msg, c ? 200 : 481, c ? "OK" : "Call/Transaction Does Not Exist"), from, via);
      if (c && !c.ended) {
        c.byePort = via.port;
        end(c);
      }
      return;
    }
    if (msg.method === "ACK") return;
    reply(buildResponse(msg, 200, "OK"), from, via);
  }

  /** Hand the call to the second node: re-INVITE from its socket, new RTP port in the offer. */
  async function startMove(c: RefCallState, node: udp.Socket<"buffer">): Promise<void> {
    if (c.ended || c.moved || c.move) return;
    let socket: udp.Socket<"buffer">;
    try {
      socket = await bindRtp(() => (c.ended ? undefined : c));
    } catch {
      return;
    }
    const inv = c.invite;
    const target = contactUri(inv) ?? inv.uri;
    const seq = c.localSeq++;
    const sdp = refSdp(socket.port, 2);
    const request = serializeRequest(
      "INVITE",
      target,
      [
        ["Via", `SIP/2.0/UDP ${host}:${node.port};branch=z9hG4bK${randomToken(6)};rport`],
        ["Max-Forwards", "70"],
        ["From", localFrom(c)],
        ["To", inv.headers.get("from") ?? ""],
        ["Call-ID", c.callId],
        ["CSeq", `${seq} INVITE`],
        ["Contact", `<sip:ref@${host}:${node.port}>`],
        ["Content-Type", "application/sdp"],
      ],
      sdp,
    );
    const move: NonNullable<RefCallState["move"]> = { request, seq, socket, timer: null };
    c.move = move;
    c.sip = node;
    const dest = hostPortOf(target);
    const to: Addr = dest ? { port: dest.port, address: dest.host } : c.sipFrom;
    let interval = t1;
    const send = () => {
      if (c.move !== move || c.ended) return;
      reply(request, to, node);
      interval *= 2;
      // Timer A until any response; give up (timer B) after 64*T1.
      if (interval <= 32 * t1) move.timer = setTimeout(send, interval);
    };
    send();
  }

  function onResponse(msg: Extract<SipMessage, { kind: "response" }>, from: Addr): void {
    const c = calls.get(msg.callId);
    const cseq = msg.cseq;
    const move = c?.move;
    if (!c || !move || cseq.method !== "INVITE" || cseq.seq !== move.seq) return;
    if (move.timer) clearTimeout(move.timer);
    move.timer = null;
    if (msg.status < 200) return;
    c.moveStatus = msg.status;
    c.move = null;
    if (msg.status >= 300) {
      // Refused: the call stays where it was (the ACK of a non-2xx is hop-by-hop; omitted here).
      c.sip = sip;
      move.socket.close();
      return;
    }
    const inv = c.invite;
    const target = contactUri(msg) ?? contactUri(inv) ?? inv.uri;
    reply(
      serializeRequest("ACK", target, [
        ["Via", `SIP/2.0/UDP ${host}:${c.sip.port};branch=z9hG4bK${randomToken(6)};rport`],
        ["Max-Forwards", "70"],
        ["From", localFrom(c)],
        ["To", msg.headers.get("to") ?? ""],
        ["Call-ID", c.callId],
        ["CSeq", `${move.seq} ACK`],
      ]),
      from,
      c.sip,
    );
    if (c.ended) {
      move.socket.close();
      return;
    }
    // The second node's stream: its own socket, SSRC, sequence and timestamps.
    const old = c.socket;
    const ans = parseAnswer(bodyText(msg), ["PCMU"]);
    c.socket = move.socket;
    c.rtpPort = move.socket.port;
    c.ssrc = (Math.random() * 2 ** 32) >>> 0;
    c.seq = (Math.random() * 0x10000) >>> 0;
    c.ts = (Math.random() * 2 ** 32) >>> 0;
    c.markNext = true;
    if (ans.ok) c.peer = { port: ans.value.remotePort, address: ans.value.remoteAddress };
    c.moved = true;
    // Keep the old port a moment so the caller's packets already on their way are not
    // answered with ICMP port-unreachable.
    setTimeout(() => old?.close(), 200);
  }

  /** Our SDP: PCMU and telephone-event on `port`; `version` (o= line) grows with each SDP of the call. */
  function refSdp(port: number, version: number): string {
    return (
      `v=0\r\no=ref 1 ${version} IN IP4 ${host}\r\ns=ref\r\nc=IN IP4 ${host}\r\nt=0 0\r\n` +
      `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n` +
      `a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n`
    );
  }

  /** Our side of the dialog in requests we send: the INVITE's To with our tag. */
  function localFrom(c: RefCallState): string {
    return `${c.invite.headers.get("to") ?? ""};tag=${c.localTag}`;
  }

  function answer(c: RefCallState): Uint8Array {
    const sdp = refSdp(c.rtpPort, 1);
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
    c.socket?.close();
    if (c.echo) {
      const e = echoSockets[c.echo.socket]!;
      e.calls--;
      e.sources.delete(c.echo.source);
    }
    if (c.move) {
      if (c.move.timer) clearTimeout(c.move.timer);
      c.move.socket.close();
      c.move = null;
    }
  }

  const dropRate = opts.dropRate ?? 0;
  const ticker = new Ticker({
    periodMs: 20,
    onTick: () => {
      for (const c of calls.values()) {
        if (c.ended || !c.peer || !c.socket) continue;
        if (opts.mediaAfterHash && !c.digits.includes("#")) continue;
        writeRtpHeader(frame, 0, 0, c.markNext, c.seq & 0xffff, c.ts >>> 0, c.ssrc);
        c.markNext = false;
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
    /** SIP port of the second node calls move to (moveAfterHash), or null. */
    movePort: sip2?.port ?? null,
    calls: (): RefCall[] =>
      [...calls.values()].map(({ callId, from, digits, rtpPort, packetsIn, peer, ended, moved, moveStatus, byePort }) => ({
        callId,
        from,
        digits,
        rtpPort,
        packetsIn,
        peer,
        ended,
        moved,
        moveStatus,
        byePort,
      })),
    counters: () => ({ sent, dropped }),
    /** Hang up one call from the server side. */
    bye(callId: string): void {
      const c = calls.get(callId);
      if (!c || c.ended) return;
      const inv = c.invite;
      const contact = contactUri(inv) ?? inv.uri;
      // From the node the call lives on, with our next CSeq.
      reply(
        serializeRequest("BYE", contact, [
          ["Via", `SIP/2.0/UDP ${host}:${c.sip.port};branch=z9hG4bK${randomToken(6)}`],
          ["From", localFrom(c)],
          ["To", inv.headers.get("from") ?? ""],
          ["Call-ID", c.callId],
          ["CSeq", `${c.localSeq++} BYE`],
        ]),
        c.sipFrom,
        c.sip,
      );
      end(c);
    },
    close(): void {
      ticker.stop();
      for (const c of calls.values()) end(c);
      sip.close();
      sip2?.close();
      echo?.kill("SIGTERM");
    },
  };
}

export type ReferenceUas = Awaited<ReturnType<typeof startReferenceUas>>;

if (import.meta.main) {
  // CLI for `bench.ts --calibrate` and its echo scenario:
  // bun run reference-uas.ts SIP_PORT RTP_MIN RTP_MAX [move | echo=BINARY:SOCKETS]
  const [sipPort, min, max] = process.argv.slice(2, 5).map(Number);
  const echoArg = /^echo=(.+):(\d+)$/.exec(process.argv[5] ?? "");
  const uas = await startReferenceUas({
    sipPort: sipPort ?? 5060,
    rtpPortMin: min ?? 20000,
    rtpPortMax: max ?? 29999,
    mediaAfterHash: true,
    moveAfterHash: process.argv[5] === "move",
    ...(echoArg ? { echo: { binary: echoArg[1]!, sockets: Number(echoArg[2]) } } : {}),
  });
  console.log(`reference UAS on udp ${uas.port}${uas.movePort !== null ? `, calls move to udp ${uas.movePort}` : ""}`);
  process.on("SIGTERM", () => {
    uas.close();
    process.exit(0);
  });
}
