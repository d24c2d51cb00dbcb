/**
 * RTP sockets, bound from the RTP_PORT_MIN..RTP_PORT_MAX range, in one of two modes:
 *
 * - One UDP socket per call (the default). Each caller's packets sit in their own
 *   kernel buffer, so a burst on one call cannot overflow a shared receive buffer (Bun
 *   cannot enlarge one), and a caller behind NAT is latched wherever it sends from.
 *   The cost: one send() system call per call per 20 ms.
 * - Shared sockets (`sharedSockets` > 0): calls are spread over a few sockets, each
 *   call's packets told apart by the caller's address and port, and every socket's
 *   packets of a tick leave in one `sendMany` (sendmmsg): about a third of the CPU of
 *   one send() per packet. For large meetings behind a carrier or SBC, which send from
 *   the address in their SDP (symmetric RTP, RFC 4961). Two calls from the same far-end
 *   address and port never share a socket (a far end that multiplexes gets spread, and
 *   past the shared sockets gets sockets of its own). A packet from an unknown source
 *   (a caller behind NAT) is given to the socket's only call still waiting for its
 *   first packet, if there is exactly one; otherwise it is dropped.
 */
import type { udp } from "bun";
import { enlargeReceiveBuffer, fdOf } from "./sockopt.ts";

export type RtpPacketHandler = (buf: Buffer, port: number, address: string) => void;

/** One call's RTP endpoint: its local port, and how to send from it. */
export interface RtpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): void;
  /** Where the caller said (in SDP) it sends from, until its first packet arrives. */
  expect(address: string, port: number): void;
  /** Idempotent. */
  close(): void;
}

/** Hands out RTP ports round-robin so a just-freed port is not reused at once. */
export class RtpPortPool {
  private next: number;
  private readonly inUse = new Set<number>();
  private readonly shared: SharedRtpSocket[] = [];

  constructor(
    readonly min: number,
    readonly max: number,
    /** Shared sockets to spread calls over; 0 for a socket per call. */
    readonly sharedSockets = 0,
  ) {
    // RTP ports are even by convention (RTCP on the odd one above).
    this.next = min + (min & 1);
  }

  /** Sends what shared sockets queued this tick (one sendMany each). No-op per call. */
  flush(): void {
    for (const s of this.shared) s.flush();
  }

  get size(): number {
    return this.inUse.size;
  }

  /**
   * Binds a socket on the next free even port of the range; throws when every port is
   * taken (by us or by another process).
   */
  async open(
    host: string,
    onPacket: RtpPacketHandler,
    options: { own?: boolean; expect?: { address: string; port: number } } = {},
  ): Promise<RtpSocket> {
    // A stream that receives nothing (a recording leg) would wait on a shared socket
    // for a first packet for ever, so it gets a socket of its own.
    if (this.sharedSockets > 0 && !options.own && options.expect) {
      const shared = await this.openShared(host, onPacket, options.expect);
      if (shared) return shared;
    }
    return this.bindFree((port) => bindUdp(host, port, onPacket), (socket, port) => new OwnRtpSocket(socket, port, () => this.inUse.delete(port)));
  }

  /** Binds `bind` on the next free even port of the range; throws when every port is taken. */
  private async bindFree<S, T>(bind: (port: number) => Promise<S>, wrap: (socket: S, port: number) => T): Promise<T> {
    const span = Math.floor((this.max - this.min) / 2) + 1;
    for (let tries = 0; tries < span; tries++) {
      const port = this.next;
      this.next += 2;
      if (this.next > this.max) this.next = this.min + (this.min & 1);
      if (this.inUse.has(port)) continue;
      let socket: S;
      try {
        socket = await bind(port);
      } catch {
        continue; // taken by another process: try the next one
      }
      this.inUse.add(port);
      return wrap(socket, port);
    }
    throw new Error(`no free RTP port in ${this.min}-${this.max}`);
  }

  /**
   * A place on a shared socket where no other call comes from the same far-end address
   * and port (so packets can always be told apart), or null when every shared socket
   * already has a call from there (the caller then gets a socket of its own).
   */
  private async openShared(
    host: string,
    onPacket: RtpPacketHandler,
    expect: { address: string; port: number },
  ): Promise<RtpSocket | null> {
    let best: SharedRtpSocket | null = null;
    for (const s of this.shared) {
      if (s.has(expect.address, expect.port)) continue;
      if (!best || s.pending < best.pending || (s.pending === best.pending && s.calls < best.calls)) best = s;
    }
    if ((!best || best.calls > 0) && this.shared.length < this.sharedSockets) {
      best = await this.bindFree(
        (port) => SharedRtpSocket.bind(host, port),
        (s) => s,
      );
      this.shared.push(best);
    }
    if (!best) return null;
    const socket = best.attach(onPacket);
    socket.expect(expect.address, expect.port);
    return socket;
  }
}

/** A UDP socket whose packets go to `onPacket`; errors stay inside. */
function bindUdp(host: string, port: number, onPacket: RtpPacketHandler): Promise<udp.Socket<"buffer">> {
  return Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      // A peer that vanished makes the kernel report ICMP port-unreachable on a
      // later send; that is the RTP timeout's business, not a crash.
      error() {},
      data(_s, buf, rport, raddr) {
        try {
          onPacket(buf, rport, raddr);
        } catch (err) {
          // A bug in one call's handling must not kill the socket loop.
          console.error("mixer: rtp handler failed:", err);
        }
      },
    },
  });
}

class OwnRtpSocket implements RtpSocket {
  private closed = false;

  constructor(
    private readonly socket: udp.Socket<"buffer">,
    readonly port: number,
    private readonly release: () => void,
  ) {}

  send(data: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    try {
      this.socket.send(data, port, address);
    } catch {
      // Same as above: an unreachable peer is not an error of ours.
    }
  }

  expect(): void {
    // A socket of its own takes the caller's first packet from wherever it comes.
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.release();
  }
}

/**
 * A call on a shared socket: its route (where its packets come from) and its
 * `RtpSocket`, one object (a call costs no closures).
 */
class SharedRoute implements RtpSocket {
  /** Expected (SDP) source until latched, then the latched one. */
  remoteAddress = "";
  remotePort = 0;
  latched = false;
  closed = false;

  constructor(
    private readonly owner: SharedRtpSocket,
    readonly handler: RtpPacketHandler,
  ) {}

  get port(): number {
    return this.owner.port;
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (!this.closed) this.owner.queue(data, port, address);
  }

  expect(address: string, port: number): void {
    if (this.closed) return;
    this.owner.unlatch(this);
    this.remoteAddress = address;
    this.remotePort = port;
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.detach(this);
  }
}

/** Packets queued per tick before the socket flushes early (keeps each sendMany short). */
const SHARED_BATCH = 256;

/** Receive buffer asked for each shared socket, bytes (the kernel reports twice this). */
const SHARED_RECEIVE_BUFFER = 2 * 1024 * 1024;
/** How long a shared socket is not given again to a far end whose call just left it, ms. */
const REUSE_AFTER_MS = 4000;
/** Above this many remembered far ends per socket the expired ones are swept. */
const RECENT_LIMIT = 256;

class SharedRtpSocket {
  /** Latched calls by their source port; a port's list is nearly always one call long. */
  private readonly byPort = new Map<number, SharedRoute[]>();
  private readonly waiting: SharedRoute[] = [];
  /** sendMany arguments of this tick: data, port, address, data, port, address, ... */
  private readonly batch: (Uint8Array | number | string)[] = [];
  private queued = 0;
  calls = 0;

  private constructor(
    private readonly socket: udp.Socket<"buffer">,
    readonly port: number,
  ) {}

  static async bind(host: string, port: number): Promise<SharedRtpSocket> {
    let self: SharedRtpSocket | null = null;
    const socket = await bindUdp(host, port, (buf, rport, raddr) => self?.deliver(buf, rport, raddr));
    // Dozens of callers' packets: room for a few hundred ms of them while the loop is busy.
    enlargeReceiveBuffer(fdOf(socket), SHARED_RECEIVE_BUFFER);
    self = new SharedRtpSocket(socket, port);
    return self;
  }

  get pending(): number {
    return this.waiting.length;
  }

  /**
   * Far ends ("address port") whose call left this socket lately, and when: like a
   * per-call port, a shared socket is not handed to the same source again at once, so
   * late packets of the old call (or its far end still mapping our port to the old
   * call, which a media gateway does until it sees the BYE) meet no new call.
   */
  private readonly recentlyLeft = new Map<string, number>();

  /** Whether a call from this far end left this socket less than REUSE_AFTER_MS ago. */
  private leftLately(address: string, port: number): boolean {
    if (this.recentlyLeft.size === 0) return false;
    const key = `${address} ${port}`;
    const left = this.recentlyLeft.get(key);
    if (left === undefined) return false;
    if (performance.now() - left < REUSE_AFTER_MS) return true;
    this.recentlyLeft.delete(key);
    return false;
  }

  /** Whether a call here comes (or is expected to come, or lately came) from this far-end address and port. */
  has(address: string, port: number): boolean {
    if (this.leftLately(address, port)) return true;
    const list = this.byPort.get(port);
    if (list?.some((r) => r.remoteAddress === address)) return true;
    return this.waiting.some((r) => r.remotePort === port && r.remoteAddress === address);
  }

  private deliver(buf: Buffer, rport: number, raddr: string): void {
    const list = this.byPort.get(rport);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const r = list[i] as SharedRoute;
        if (r.remoteAddress === raddr) {
          r.handler(buf, rport, raddr);
          return;
        }
      }
    }
    // A first packet: the call that expects this source, or the only one waiting.
    let match = -1;
    for (let i = 0; i < this.waiting.length; i++) {
      const r = this.waiting[i] as SharedRoute;
      if (r.remotePort === rport && r.remoteAddress === raddr) {
        match = i;
        break;
      }
    }
    if (match < 0 && this.waiting.length === 1) {
      // A stranger goes to the only call waiting (its SDP named a private address, say),
      // unless it is a call that just left this socket: its packets still in flight (after
      // a BYE, or a re-INVITE that moved it to another node) would latch the new call to
      // the wrong far end, and the new call's own packets would be dropped.
      if (!this.leftLately(raddr, rport)) match = 0;
    }
    if (match < 0) return;
    const r = this.waiting[match] as SharedRoute;
    this.waiting.splice(match, 1);
    r.remoteAddress = raddr;
    r.remotePort = rport;
    r.latched = true;
    const l = this.byPort.get(rport);
    if (l) l.push(r);
    else this.byPort.set(rport, [r]);
    r.handler(buf, rport, raddr);
  }

  attach(handler: RtpPacketHandler): RtpSocket {
    const route = new SharedRoute(this, handler);
    this.waiting.push(route);
    this.calls++;
    return route;
  }

  /** A closed route leaves the socket. */
  detach(route: SharedRoute): void {
    if (route.remoteAddress !== "") {
      const now = performance.now();
      if (this.recentlyLeft.size >= RECENT_LIMIT) {
        for (const [k, t] of this.recentlyLeft) if (now - t >= REUSE_AFTER_MS) this.recentlyLeft.delete(k);
      }
      this.recentlyLeft.set(`${route.remoteAddress} ${route.remotePort}`, now);
    }
    this.unlatch(route);
    const w = this.waiting.indexOf(route);
    if (w >= 0) this.waiting.splice(w, 1);
    this.calls--;
  }

  /** Back to waiting for a first packet (a re-INVITE moved the caller's media). */
  unlatch(route: SharedRoute): void {
    if (!route.latched) return;
    route.latched = false;
    const l = this.byPort.get(route.remotePort);
    if (l) {
      const i = l.indexOf(route);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.byPort.delete(route.remotePort);
    }
    if (!route.closed) this.waiting.push(route);
  }

  queue(data: Uint8Array, port: number, address: string): void {
    this.batch.push(data, port, address);
    if (++this.queued >= SHARED_BATCH) this.flush();
  }

  flush(): void {
    if (this.queued === 0) return;
    try {
      this.socket.sendMany(this.batch as never);
    } catch {
      // An unreachable peer (ICMP) is not an error of ours.
    }
    this.batch.length = 0;
    this.queued = 0;
  }
}

