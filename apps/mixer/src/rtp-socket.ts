/**
 * RTP sockets, bound from the RTP_PORT_MIN..RTP_PORT_MAX range, in one of two modes:
 *
 * - One UDP socket per call (the default). Each caller's packets sit in their own
 *   kernel buffer, so a burst on one call cannot overflow a shared receive buffer (Bun
 *   cannot enlarge one), and a caller behind NAT is latched wherever it sends from
 *   (after a continuing stream, see `RtpLatch`). The cost: one send() system call per
 *   call per 20 ms.
 * - Shared sockets (`sharedSockets` > 0): calls are spread over a few sockets, each
 *   call's packets told apart by the caller's address and port, and every socket's
 *   packets of a tick leave in one `sendMany` (sendmmsg): about a third of the CPU of
 *   one send() per packet. For large meetings behind a carrier or SBC, which send from
 *   the address in their SDP (symmetric RTP, RFC 4961). Two calls from the same far-end
 *   address and port never share a socket (a far end that multiplexes gets spread, and
 *   past the shared sockets gets sockets of its own). A packet from an unknown source
 *   goes to the call whose SDP names exactly that source, else (a caller behind NAT) to
 *   the socket's only call not latched yet, if there is exactly one; otherwise it is
 *   dropped and counted. A call on a shared socket does not follow a NAT binding that
 *   changes mid-call (it cannot be told which call a new source belongs to).
 *
 * With `batchIo` (RTP_BATCH_IO=1) shared sockets are our own descriptors (`BatchUdpSocket`)
 * instead of Bun's: nothing reads them until the clock calls `receive()` once a tick,
 * which drains each with recvmmsg into preallocated slots and hands every datagram to the
 * same latching code (no JavaScript callback, Buffer or string per datagram from Bun); a
 * tick's packets leave in sendmmsg. Sockets per call, and hosts that are not IPv4, stay
 * on Bun's sockets.
 *
 * Either way each call's `RtpLatch` decides which source is its caller, and only that
 * source's packets reach the call's handler (the latch's rules are in media/rtp.ts).
 * Ports are drawn at random from the range, so the next call's port cannot be guessed
 * from one's own.
 */
import type { udp } from "bun";
import { RtpLatch, type RtpLatchOptions } from "@conf/media";
import { BatchUdpSocket, batchUdpAvailable, parseIpv4, RECEIVE_BATCH } from "./batch-udp.ts";
import { enlargeReceiveBuffer, fdOf } from "./sockopt.ts";

/** `buf` is valid only during the call (batched sockets reuse it): a handler copies what it keeps. */
export type RtpPacketHandler = (buf: Uint8Array, port: number, address: string) => void;

/** One call's RTP endpoint: its local port, and how to send from it. */
export interface RtpSocket {
  readonly port: number;
  /** Which source is the caller: only its packets reach the handler; send only there. */
  readonly latch: RtpLatch;
  send(data: Uint8Array, port: number, address: string): void;
  /** Where the caller said (in SDP) it sends from: re-arms the latch (a re-INVITE moved it). */
  expect(address: string, port: number): void;
  /** Idempotent. */
  close(): void;
}

/** How long a port (or a shared socket's far end) is not given out again after its call left, ms. */
const REUSE_AFTER_MS = 4000;

/**
 * Hands out RTP ports at random from the range (an attacker who sees its own call's
 * port learns nothing of the next one), not again soon after they were freed.
 */
export class RtpPortPool {
  private readonly inUse = new Set<number>();
  /** Ports freed lately, and when (node clock, ms): late packets of the old call. */
  private readonly freedAt = new Map<number, number>();
  private readonly shared: SharedRtpSocket[] = [];
  private readonly random = new Uint32Array(2);

  constructor(
    readonly min: number,
    readonly max: number,
    /** Shared sockets to spread calls over; 0 for a socket per call. */
    readonly sharedSockets = 0,
    /** How each call's latch tells its caller from strangers. */
    readonly latchOptions: RtpLatchOptions = {},
    /** Shared sockets read and written in batches through recvmmsg/sendmmsg, drained by `receive()`. */
    readonly batchIo = false,
  ) {}

  /**
   * Reads what arrived on batched shared sockets since the last call and hands it to the
   * calls (the clock calls this once a tick, before mixing). No-op otherwise.
   */
  receive(): void {
    for (const s of this.shared) s.drain();
  }

  /** Sends what shared sockets queued this tick (one sendMany each). No-op per call. */
  flush(): void {
    for (const s of this.shared) s.flush();
  }

  /** Closes the shared sockets (the node stops; its calls are gone). Sockets per call close with their calls. */
  close(): void {
    for (const s of this.shared.splice(0)) s.close();
  }

  get size(): number {
    return this.inUse.size;
  }

  /** Packets that shared sockets dropped because no call could take them (unknown sources). */
  get foreignDropped(): number {
    let n = 0;
    for (const s of this.shared) n += s.foreign;
    return n;
  }

  /**
   * Binds a socket on a free even port of the range, drawn at random; throws when every
   * port is taken (by us or by another process).
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
    const latch = new RtpLatch(options.expect?.address ?? "", options.expect?.port ?? 0, this.latchOptions);
    return this.bindFree(
      (port) => OwnRtpSocket.bind(host, port, latch, onPacket),
      (socket, port) => new OwnRtpSocket(socket, port, latch, () => this.release(port)),
    );
  }

  /**
   * Binds a socket of its own on a free port of the range with every datagram going to
   * `onDatagram`, no latch in between: a WebRTC leg (webrtc/leg.ts) tells STUN, DTLS and
   * SRTP apart itself and latches on what ICE validated. `release` gives the port back
   * after the socket is closed.
   */
  openRaw(
    host: string,
    onDatagram: RtpPacketHandler,
  ): Promise<{ socket: udp.Socket<"buffer">; port: number; release: () => void }> {
    return this.bindFree(
      (port) => bindUdp(host, port, onDatagram),
      (socket, port) => ({ socket, port, release: () => this.release(port) }),
    );
  }

  private release(port: number): void {
    this.inUse.delete(port);
    this.freedAt.set(port, performance.now());
  }

  /**
   * Binds `bind` on a free even port: every even port of the range once, in an order
   * drawn at random (a random start and a random step coprime to their count), ports
   * freed less than REUSE_AFTER_MS ago only when nothing else is free. Throws when
   * every port is taken.
   */
  private async bindFree<S, T>(bind: (port: number) => Promise<S>, wrap: (socket: S, port: number) => T): Promise<T> {
    const first = this.min + (this.min & 1);
    const slots = this.max >= first ? Math.floor((this.max - first) / 2) + 1 : 0;
    crypto.getRandomValues(this.random);
    const start = (this.random[0] as number) % Math.max(1, slots);
    let step = 1 + ((this.random[1] as number) % Math.max(1, slots));
    while (gcd(step, slots) !== 1) step++;
    const now = performance.now();
    const lately: number[] = [];
    for (let i = 0; i < slots; i++) {
      const port = first + 2 * ((start + i * step) % slots);
      if (this.inUse.has(port)) continue;
      const freed = this.freedAt.get(port);
      if (freed !== undefined) {
        if (now - freed < REUSE_AFTER_MS) {
          lately.push(port);
          continue;
        }
        this.freedAt.delete(port);
      }
      const socket = await this.tryBind(bind, port);
      if (socket !== null) return wrap(socket, port);
    }
    for (const port of lately) {
      if (this.inUse.has(port)) continue;
      const socket = await this.tryBind(bind, port);
      if (socket !== null) return wrap(socket, port);
    }
    throw new Error(`no free RTP port in ${this.min}-${this.max}`);
  }

  private async tryBind<S>(bind: (port: number) => Promise<S>, port: number): Promise<S | null> {
    let socket: S;
    try {
      socket = await bind(port);
    } catch {
      return null; // taken by another process: try another one
    }
    this.inUse.add(port);
    return socket;
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
      const batch = this.batchIo && batchUdpAvailable() && parseIpv4(host) >= 0;
      best = await this.bindFree(
        (port) => SharedRtpSocket.bind(host, port, batch),
        (s) => s,
      );
      this.shared.push(best);
    }
    if (!best) return null;
    return best.attach(onPacket, new RtpLatch(expect.address, expect.port, this.latchOptions));
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
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
    readonly latch: RtpLatch,
    private readonly release: () => void,
  ) {}

  /** The socket's packets go to `onPacket` only when the latch says they are the caller's. */
  static bind(host: string, port: number, latch: RtpLatch, onPacket: RtpPacketHandler): Promise<udp.Socket<"buffer">> {
    return bindUdp(host, port, (buf, rport, raddr) => {
      if (latch.acceptPacket(buf, raddr, rport, performance.now())) onPacket(buf, rport, raddr);
    });
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    try {
      this.socket.send(data, port, address);
    } catch {
      // Same as above: an unreachable peer is not an error of ours.
    }
  }

  expect(address: string, port: number): void {
    this.latch.reset(address, port);
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
 * A call on a shared socket: its latch, where it sits in the socket's indexes, and its
 * `RtpSocket`, one object (a call costs no closures).
 */
class SharedRoute implements RtpSocket {
  /** The latched port it is filed under in `byPort`; -1 while not latched (waiting). */
  indexedPort = -1;
  indexedAddress = "";
  closed = false;

  constructor(
    private readonly owner: SharedRtpSocket,
    readonly handler: RtpPacketHandler,
    readonly latch: RtpLatch,
  ) {}

  get port(): number {
    return this.owner.port;
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (!this.closed) this.owner.queue(data, port, address);
  }

  expect(address: string, port: number): void {
    if (this.closed) return;
    this.owner.rearm(this, address, port);
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.detach(this);
  }
}

/**
 * Datagrams a batched socket hands on per drain, at most. A flood beyond it waits in (and
 * overflows) the kernel's buffer instead of holding the clock.
 */
const DRAIN_LIMIT = 4096;

/** Packets queued per tick before the socket flushes early (keeps each sendMany short). */
const SHARED_BATCH = 256;

/** Receive buffer asked for each shared socket, bytes (the kernel reports twice this). */
const SHARED_RECEIVE_BUFFER = 2 * 1024 * 1024;
/** Above this many remembered far ends per socket the expired ones are swept. */
const RECENT_LIMIT = 256;

function removeFrom<T>(map: Map<number, T[]>, key: number, item: T): void {
  const l = map.get(key);
  if (!l) return;
  const i = l.indexOf(item);
  if (i >= 0) l.splice(i, 1);
  if (l.length === 0) map.delete(key);
}

function addTo<T>(map: Map<number, T[]>, key: number, item: T): void {
  const l = map.get(key);
  if (l) l.push(item);
  else map.set(key, [item]);
}

class SharedRtpSocket {
  /** Latched calls by their source port; a port's list is nearly always one call long. */
  private readonly byPort = new Map<number, SharedRoute[]>();
  /** Every call by the port its SDP names (the source that latches at once). */
  private readonly bySdpPort = new Map<number, SharedRoute[]>();
  /** Calls not latched yet. */
  private readonly waiting: SharedRoute[] = [];
  /** sendMany arguments of this tick: data, port, address, data, port, address, ... */
  private readonly batch: (Uint8Array | number | string)[] = [];
  private queued = 0;
  calls = 0;
  /** Packets no call could take (unknown sources), dropped. */
  foreign = 0;

  private constructor(
    /** Bun's socket, or null when `io` carries the packets. */
    private readonly socket: udp.Socket<"buffer"> | null,
    private readonly io: BatchUdpSocket | null,
    readonly port: number,
  ) {}

  static async bind(host: string, port: number, batch = false): Promise<SharedRtpSocket> {
    if (batch) {
      const io = BatchUdpSocket.open(host, port);
      // Read once a tick: room for far more than a tick of every caller's packets.
      enlargeReceiveBuffer(io.fd, SHARED_RECEIVE_BUFFER);
      return new SharedRtpSocket(null, io, port);
    }
    let self: SharedRtpSocket | null = null;
    const socket = await bindUdp(host, port, (buf, rport, raddr) => self?.deliver(buf, rport, raddr));
    // Dozens of callers' packets: room for a few hundred ms of them while the loop is busy.
    enlargeReceiveBuffer(fdOf(socket), SHARED_RECEIVE_BUFFER);
    self = new SharedRtpSocket(socket, null, port);
    return self;
  }

  /** Hands what waits on a batched socket to the calls, DRAIN_LIMIT datagrams at most. */
  drain(): void {
    const io = this.io;
    if (io === null) return;
    let total = 0;
    while (total < DRAIN_LIMIT) {
      const n = io.receive();
      for (let i = 0; i < n; i++) {
        const length = io.length(i);
        if (length < 0) {
          this.foreign++;
          continue;
        }
        try {
          this.deliver(io.packet(i, length), io.sourcePort(i), io.sourceName(i));
        } catch (err) {
          // A bug in one call's handling must not stop the others' packets.
          console.error("mixer: rtp handler failed:", err);
        }
      }
      total += n;
      if (n < RECEIVE_BATCH) break;
    }
  }

  get pending(): number {
    return this.waiting.length;
  }

  /**
   * Far ends whose call left this socket lately (by source port: address and when):
   * like a per-call port, a shared socket is not handed to the same source again at
   * once, so late packets of the old call (or its far end still mapping our port to the
   * old call, which a media gateway does until it sees the BYE) meet no new call.
   * Keyed by port so the packet path looks it up without building a key.
   */
  private readonly recentlyLeft = new Map<number, { address: string; at: number }[]>();
  private recentCount = 0;

  /** Whether a call from this far end left this socket less than REUSE_AFTER_MS ago. */
  private leftLately(address: string, port: number): boolean {
    const l = this.recentlyLeft.get(port);
    if (l === undefined) return false;
    for (let i = 0; i < l.length; i++) {
      const e = l[i] as { address: string; at: number };
      if (e.address === address) return performance.now() - e.at < REUSE_AFTER_MS;
    }
    return false;
  }

  private rememberLeft(address: string, port: number): void {
    const now = performance.now();
    if (this.recentCount >= RECENT_LIMIT) {
      this.recentCount = 0;
      for (const [p, l] of this.recentlyLeft) {
        const kept = l.filter((e) => now - e.at < REUSE_AFTER_MS);
        if (kept.length === 0) this.recentlyLeft.delete(p);
        else this.recentlyLeft.set(p, kept);
        this.recentCount += kept.length;
      }
    }
    const l = this.recentlyLeft.get(port);
    const e = l?.find((x) => x.address === address);
    if (e) e.at = now;
    else {
      addTo(this.recentlyLeft, port, { address, at: now });
      this.recentCount++;
    }
  }

  /** Whether a call here comes (or is expected to come, or lately came) from this far-end address and port. */
  has(address: string, port: number): boolean {
    if (this.leftLately(address, port)) return true;
    if (this.byPort.get(port)?.some((r) => r.latch.isLatched(address, port))) return true;
    return this.bySdpPort.get(port)?.some((r) => r.latch.expectedAddress === address) ?? false;
  }

  private deliver(buf: Uint8Array, rport: number, raddr: string): void {
    const now = performance.now();
    const list = this.byPort.get(rport);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const r = list[i] as SharedRoute;
        if (r.latch.isLatched(raddr, rport)) {
          if (r.latch.acceptPacket(buf, raddr, rport, now)) r.handler(buf, rport, raddr);
          return;
        }
      }
    }
    // Not a latched source: the call whose SDP names it, else the only call waiting.
    let route: SharedRoute | null = null;
    const sdp = this.bySdpPort.get(rport);
    if (sdp !== undefined) {
      for (let i = 0; i < sdp.length; i++) {
        if ((sdp[i] as SharedRoute).latch.expectedAddress === raddr) {
          route = sdp[i] as SharedRoute;
          break;
        }
      }
    }
    // A stranger goes to the only call waiting (its SDP named a private address, say),
    // unless it is a call that just left this socket: its packets still in flight (after
    // a BYE, or a re-INVITE that moved it to another node) must not count for the new call.
    if (route === null && this.waiting.length === 1 && !this.leftLately(raddr, rport)) route = this.waiting[0] as SharedRoute;
    if (route === null) {
      this.foreign++;
      return;
    }
    if (!route.latch.acceptPacket(buf, raddr, rport, now)) return;
    this.file(route);
    route.handler(buf, rport, raddr);
  }

  /** Files a route that just latched (or moved its latch) under its source port. */
  private file(route: SharedRoute): void {
    const port = route.latch.port;
    const address = route.latch.address;
    if (route.indexedPort === port && route.indexedAddress === address) return;
    this.unfile(route);
    const w = this.waiting.indexOf(route);
    if (w >= 0) this.waiting.splice(w, 1);
    route.indexedPort = port;
    route.indexedAddress = address;
    addTo(this.byPort, port, route);
  }

  private unfile(route: SharedRoute): void {
    if (route.indexedPort < 0) return;
    removeFrom(this.byPort, route.indexedPort, route);
    route.indexedPort = -1;
    route.indexedAddress = "";
  }

  attach(handler: RtpPacketHandler, latch: RtpLatch): RtpSocket {
    const route = new SharedRoute(this, handler, latch);
    this.waiting.push(route);
    addTo(this.bySdpPort, latch.expectedPort, route);
    this.calls++;
    return route;
  }

  /** A closed route leaves the socket. */
  detach(route: SharedRoute): void {
    if (route.latch.address !== "") this.rememberLeft(route.latch.address, route.latch.port);
    this.unfile(route);
    removeFrom(this.bySdpPort, route.latch.expectedPort, route);
    const w = this.waiting.indexOf(route);
    if (w >= 0) this.waiting.splice(w, 1);
    this.calls--;
  }

  /** Back to waiting for the caller's packets (a re-INVITE moved its media). */
  rearm(route: SharedRoute, address: string, port: number): void {
    removeFrom(this.bySdpPort, route.latch.expectedPort, route);
    route.latch.reset(address, port);
    addTo(this.bySdpPort, port, route);
    this.unfile(route);
    if (!this.waiting.includes(route)) this.waiting.push(route);
  }

  close(): void {
    this.io?.close();
    this.socket?.close();
  }

  queue(data: Uint8Array, port: number, address: string): void {
    if (this.io !== null) {
      this.io.queue(data, port, address);
      return;
    }
    this.batch.push(data, port, address);
    if (++this.queued >= SHARED_BATCH) this.flush();
  }

  flush(): void {
    if (this.io !== null) {
      this.io.flush();
      return;
    }
    if (this.queued === 0 || this.socket === null) return;
    try {
      this.socket.sendMany(this.batch as never);
    } catch {
      // An unreachable peer (ICMP) is not an error of ours.
    }
    this.batch.length = 0;
    this.queued = 0;
  }
}
