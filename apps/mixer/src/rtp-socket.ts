/**
 * One UDP socket per call for RTP, bound from the RTP_PORT_MIN..RTP_PORT_MAX range.
 * A socket per call keeps each caller's packets in its own kernel buffer, so a burst
 * on one call cannot overflow a shared receive buffer (Bun cannot enlarge one).
 */
import type { udp } from "bun";

export type RtpPacketHandler = (buf: Buffer, port: number, address: string) => void;

/** Hands out RTP ports round-robin so a just-freed port is not reused at once. */
export class RtpPortPool {
  private next: number;
  private readonly inUse = new Set<number>();

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    // RTP ports are even by convention (RTCP on the odd one above).
    this.next = min + (min & 1);
  }

  get size(): number {
    return this.inUse.size;
  }

  /**
   * Binds a socket on the next free even port of the range; throws when every port is
   * taken (by us or by another process).
   */
  async open(host: string, onPacket: RtpPacketHandler): Promise<RtpSocket> {
    const span = Math.floor((this.max - this.min) / 2) + 1;
    for (let tries = 0; tries < span; tries++) {
      const port = this.next;
      this.next += 2;
      if (this.next > this.max) this.next = this.min + (this.min & 1);
      if (this.inUse.has(port)) continue;
      try {
        const socket = await Bun.udpSocket({
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
        this.inUse.add(port);
        return new RtpSocket(socket, port, () => this.inUse.delete(port));
      } catch {
        // Taken by another process: try the next one.
      }
    }
    throw new Error(`no free RTP port in ${this.min}-${this.max}`);
  }
}

export class RtpSocket {
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

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.release();
  }
}
