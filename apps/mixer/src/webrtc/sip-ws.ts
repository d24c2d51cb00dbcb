/**
 * SIP over WebSocket (RFC 7118) for browsers: a WebSocket listener of the mixer's own
 * (SIP_WS_PORT), each connection a source of a second `SipUa` whose handlers are the
 * UDP UA's. A browser's INVITE thus meets the same admission as a phone's (routing,
 * code prompt, guess limits, roles, meeting rules): nothing in admission knows it came
 * over a WebSocket except the WebRTC answer its SDP asks for.
 *
 * Why SIP over WebSocket, on the mixer's process, rather than a signalling protocol of
 * our own on the API's port:
 * - The dialog (and its BYE, INFO, re-INVITE, the per-source INVITE limits) stays with
 *   the SIP stack that every phone call goes through, so there is one admission path to
 *   get right, and SIP-over-WS clients other than our page (JsSIP, SIP.js) work too.
 * - The API's process has no SIP UA and no RTP ports: behind it, every message would be
 *   relayed over the link to the mixer, one more hop and one more place for a call's
 *   state. The messages are few (an INVITE, an ACK, a BYE per call), so they cost the
 *   mixer's clock nothing worth measuring, unlike tenants' HTTP requests.
 * - The guess limiter and the per-source limits see the browser's own address (the
 *   connection's), not the API's, which a relay would have to carry along and be trusted for.
 * The page (GET /join on the API) connects to this port: `SIP_WS_URL`, or ws:// on the
 * page's host name and SIP_WS_PORT. Put a TLS terminator in front for wss:// (browsers
 * allow the microphone on https:// pages and on localhost only).
 *
 * Each connection is named by a Destination {address: the peer's IP, port: a number
 * of the connection's own}, which the UA treats as a source like any UDP one.
 */
import type { Server, ServerWebSocket } from "bun";
import type { Destination, SipUa, SipUaOptions } from "@conf/sip";
import { SipUa as Ua } from "@conf/sip";

export interface SipWsLimits {
  /** WebSocket connections from one address at a time (SIP_WS_CONNECTIONS_PER_SOURCE). */
  connectionsPerSource: number;
  /** WebSocket connections at a time in all (SIP_WS_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Largest message a connection may send, bytes (SIP_WS_MAX_MESSAGE_BYTES); larger ones close it. */
  maxMessageBytes: number;
  /** A connection that sends nothing (pings unanswered) this long is closed, seconds. */
  idleTimeoutSeconds: number;
  /**
   * Page origins (scheme://host[:port]) whose browsers may connect (SIP_WS_ORIGINS); empty:
   * any. Another site's page cannot then make its visitors' browsers dial in.
   */
  origins: readonly string[];
}

export const DEFAULT_SIP_WS_LIMITS: SipWsLimits = {
  connectionsPerSource: 8,
  maxConnections: 1000,
  maxMessageBytes: 16384,
  idleTimeoutSeconds: 120,
  origins: [],
};

interface Conn {
  readonly id: number;
  readonly address: string;
}

export interface SipWsOptions {
  host: string;
  /** 0: a free port. */
  port: number;
  limits?: Partial<SipWsLimits>;
  /** Options of the UA (handlers, source limits, message limits); its transport is "WS". */
  ua: SipUaOptions;
  /** A connection closed: its source no longer reaches anyone (the app ends its dialogs). */
  onClosed?: (source: Destination) => void;
}

export class SipWsServer {
  readonly ua: SipUa;
  private readonly conns = new Map<number, ServerWebSocket<Conn>>();
  private readonly perSource = new Map<string, number>();
  private nextId = 1;
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();
  private server: Server<Conn> | null = null;
  readonly limits: SipWsLimits;

  private constructor(private readonly opts: SipWsOptions) {
    this.limits = { ...DEFAULT_SIP_WS_LIMITS, ...opts.limits };
    this.ua = Ua.overTransport(
      {
        address: { address: opts.host, port: opts.port },
        send: (data, dest) => this.send(data, dest),
        close: () => {},
      },
      { ...opts.ua, transport: "WS", forceRport: true },
    );
  }

  /**
   * Listens and answers.
   * @example const ws = SipWsServer.start({ host: "127.0.0.1", port: 5066, ua: { handlers } });
   */
  static start(opts: SipWsOptions): SipWsServer {
    const s = new SipWsServer(opts);
    s.listen();
    return s;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Connections open now. */
  get connections(): number {
    return this.conns.size;
  }

  private listen(): void {
    const self = this;
    const { limits } = this;
    this.server = Bun.serve<Conn>({
      hostname: this.opts.host,
      port: this.opts.port,
      fetch(req, server) {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket")
          return new Response("SIP over WebSocket (RFC 7118) only\n", { status: 426, headers: { Upgrade: "websocket" } });
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim().toLowerCase());
        if (!offered.includes("sip")) return new Response("the WebSocket subprotocol must be sip\n", { status: 400 });
        if (limits.origins.length > 0 && !limits.origins.includes(req.headers.get("origin") ?? ""))
          return new Response("this page's origin may not connect\n", { status: 403 });
        const address = server.requestIP(req)?.address ?? "";
        if (self.conns.size + self.pendingTotal >= limits.maxConnections)
          return new Response("too many connections\n", { status: 503, headers: { "Retry-After": "5" } });
        const held = self.perSource.get(address) ?? 0;
        if (held >= limits.connectionsPerSource)
          return new Response("too many connections from this address\n", { status: 429, headers: { "Retry-After": "5" } });
        // Counted now, before the handshake completes, so a burst cannot pass the limit.
        self.perSource.set(address, held + 1);
        self.pendingTotal++;
        const id = self.freshId();
        if (server.upgrade(req, { data: { id, address }, headers: { "Sec-WebSocket-Protocol": "sip" } })) return undefined;
        self.pendingTotal--;
        self.unhold(address);
        return new Response("bad WebSocket handshake\n", { status: 400 });
      },
      websocket: {
        maxPayloadLength: limits.maxMessageBytes,
        idleTimeout: limits.idleTimeoutSeconds,
        sendPings: true,
        open(ws) {
          self.pendingTotal--;
          self.conns.set(ws.data.id, ws);
        },
        message(ws, message) {
          const bytes = typeof message === "string" ? self.encoder.encode(message) : new Uint8Array(message);
          self.ua.receive(bytes, { address: ws.data.address, port: ws.data.id });
        },
        close(ws) {
          if (self.conns.get(ws.data.id) !== ws) self.pendingTotal = Math.max(0, self.pendingTotal - 1);
          self.conns.delete(ws.data.id);
          self.unhold(ws.data.address);
          try {
            self.opts.onClosed?.({ address: ws.data.address, port: ws.data.id });
          } catch {
            // the app's handler must not break the server
          }
        },
      },
    });
  }

  /** Upgrades accepted and not open yet. */
  private pendingTotal = 0;

  private unhold(address: string): void {
    const n = (this.perSource.get(address) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(address);
    else this.perSource.set(address, n);
  }

  /** A connection number not in use (they name sources to the UA, like a UDP port). */
  private freshId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
      if (!this.conns.has(id)) return id;
    }
  }

  private send(data: Uint8Array, dest: Destination): void {
    const ws = this.conns.get(dest.port);
    if (!ws || ws.data.address !== dest.address) return;
    try {
      ws.send(this.decoder.decode(data));
    } catch {
      // a closing connection: its close handler ends what depended on it
    }
  }

  /** Closes every connection and the listener, and the UA. */
  stop(): void {
    for (const ws of this.conns.values()) ws.close(1001, "shutting down");
    this.server?.stop(true);
    this.server = null;
    this.ua.close();
  }
}
