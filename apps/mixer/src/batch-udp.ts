/**
 * A UDP socket read and written in batches with the kernel's recvmmsg/sendmmsg, through
 * bun:ffi on a descriptor we open ourselves (Bun's `udpSocket` cannot be told to stop
 * reading, and it makes a JavaScript callback, a Buffer and an address string for every
 * datagram). The owner drains it when it wants (the mixer's clock, once a tick), so the
 * receive work leaves the event loop's per-datagram path. IPv4 only; Linux with glibc
 * only (`available()` says).
 *
 * Nothing is allocated per datagram: one ArrayBuffer holds the receive slots, the iovec
 * and mmsghdr arrays and the sockaddr_in storage, all pointed at once; the source is read
 * from the sockaddr as numbers, and turned into the string the latch compares only when
 * an address is seen for the first time (a small cache).
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;

/** Datagrams per recvmmsg call. */
export const RECEIVE_BATCH = 64;
/** Bytes per receive slot: a datagram longer than this is truncated by the kernel, then dropped. */
export const SLOT_BYTES = 2048;
/** Datagrams per sendmmsg call (the queue flushes itself when full). */
export const SEND_BATCH = 256;

/**
 * struct mmsghdr on 64-bit Linux: a msghdr (name at 0, namelen 8, iov 16, iovlen 24,
 * control 32, controllen 40, flags 48; 56 bytes), then the length the kernel fills in (56).
 */
const MMSGHDR = 64;
const IOVEC = 16;
const SOCKADDR_IN = 16;

type Libc = {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: unknown, len: number): number;
  close(fd: number): number;
  recvmmsg(fd: number, msgs: unknown, vlen: number, flags: number, timeout: unknown): number;
  sendmmsg(fd: number, msgs: unknown, vlen: number, flags: number): number;
  __errno_location(): unknown;
};

let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return libc;
  try {
    libc = dlopen("libc.so.6", {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
      recvmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    }).symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

/** Whether batched sockets can be opened here (64-bit Linux with glibc). */
export function batchUdpAvailable(): boolean {
  return load() !== null;
}

function errno(c: Libc): number {
  const p = c.__errno_location();
  return p ? read.i32(p as never, 0) : 0;
}

/** An IPv4 dotted quad as a number (host order), or -1; reads characters, builds nothing. */
export function parseIpv4(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (ch >= 48 && ch <= 57) {
      part = part * 10 + (ch - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Above this many cached source addresses the cache starts again (a spray of sources). */
const ADDRESS_CACHE_LIMIT = 4096;

export class BatchUdpSocket {
  /** Receive slots, then one scratch slot for exact-length views, then the arrays the kernel reads. */
  private readonly mem: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  private readonly rxMsgs: number;
  private readonly rxNames: number;
  private readonly rxMsgsPtr: number;
  private readonly txMsgs: number;
  private readonly txIov: number;
  private readonly txNames: number;
  private readonly txMsgsPtr: number;
  private readonly scratch: number;
  /** Views of the scratch slot by length, made once per length. */
  private readonly views: (Uint8Array | undefined)[] = [];
  private readonly names = new Map<number, string>();
  private queued = 0;
  private closed = false;
  /** Datagrams the kernel cut (longer than SLOT_BYTES); not handed out. */
  truncated = 0;
  /** Datagrams the kernel refused to send (an unreachable peer, a full send buffer). */
  sendFailures = 0;

  private constructor(
    private readonly c: Libc,
    readonly fd: number,
    readonly port: number,
  ) {
    const B = RECEIVE_BATCH;
    const S = SEND_BATCH;
    const data = B * SLOT_BYTES;
    this.scratch = data;
    const rxIov = data + SLOT_BYTES;
    this.rxNames = rxIov + B * IOVEC;
    this.rxMsgs = this.rxNames + B * SOCKADDR_IN;
    this.txIov = this.rxMsgs + B * MMSGHDR;
    this.txNames = this.txIov + S * IOVEC;
    this.txMsgs = this.txNames + S * SOCKADDR_IN;
    this.mem = new ArrayBuffer(this.txMsgs + S * MMSGHDR);
    this.bytes = new Uint8Array(this.mem);
    this.words = new Uint32Array(this.mem);
    const base = ptr(this.bytes);
    const dv = new DataView(this.mem);
    for (let i = 0; i < B; i++) {
      dv.setBigUint64(rxIov + i * IOVEC, BigInt(base + i * SLOT_BYTES), true);
      dv.setBigUint64(rxIov + i * IOVEC + 8, BigInt(SLOT_BYTES), true);
      const m = this.rxMsgs + i * MMSGHDR;
      dv.setBigUint64(m, BigInt(base + this.rxNames + i * SOCKADDR_IN), true);
      dv.setUint32(m + 8, SOCKADDR_IN, true);
      dv.setBigUint64(m + 16, BigInt(base + rxIov + i * IOVEC), true);
      dv.setBigUint64(m + 24, 1n, true);
    }
    for (let i = 0; i < S; i++) {
      const m = this.txMsgs + i * MMSGHDR;
      dv.setUint16(this.txNames + i * SOCKADDR_IN, AF_INET, true);
      dv.setBigUint64(m, BigInt(base + this.txNames + i * SOCKADDR_IN), true);
      dv.setUint32(m + 8, SOCKADDR_IN, true);
      dv.setBigUint64(m + 16, BigInt(base + this.txIov + i * IOVEC), true);
      dv.setBigUint64(m + 24, 1n, true);
    }
    this.rxMsgsPtr = base + this.rxMsgs;
    this.txMsgsPtr = base + this.txMsgs;
  }

  /** Binds a non-blocking UDP socket on host:port (an IPv4 address); throws when it cannot. */
  static open(host: string, port: number): BatchUdpSocket {
    const c = load();
    if (!c) throw new Error("batched UDP needs 64-bit Linux with glibc");
    const address = parseIpv4(host);
    if (address < 0) throw new Error(`batched UDP binds IPv4 addresses only, not ${host}`);
    const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket() failed: errno ${errno(c)}`);
    const sa = new Uint8Array(SOCKADDR_IN);
    writeSockaddr(sa, 0, address, port);
    if (c.bind(fd, ptr(sa), SOCKADDR_IN) !== 0) {
      const e = errno(c);
      c.close(fd);
      throw new Error(`bind ${host}:${port} failed: errno ${e}`);
    }
    return new BatchUdpSocket(c, fd, port);
  }

  /**
   * One recvmmsg without waiting: how many datagrams are now in the slots (0 when none
   * was waiting). Read them with `length`, `sourcePort`, `sourceAddress`, `packet` before
   * the next call.
   */
  receive(): number {
    if (this.closed) return 0;
    const n = this.c.recvmmsg(this.fd, this.rxMsgsPtr, RECEIVE_BATCH, MSG_DONTWAIT, null);
    if (n < 0) {
      // EAGAIN: nothing waiting. Anything else (a queued ICMP error, ECONNREFUSED) says
      // nothing about the datagrams behind it: the next call reads them.
      return 0;
    }
    return n;
  }

  /** Length of datagram i of the last `receive`, or -1 when the kernel cut it (counted in `truncated`). */
  length(i: number): number {
    const m = this.rxMsgs + i * MMSGHDR;
    if ((this.words[(m + 48) >> 2] as number) & MSG_TRUNC) {
      this.truncated++;
      return -1;
    }
    return this.words[(m + 56) >> 2] as number;
  }

  sourcePort(i: number): number {
    const a = this.rxNames + i * SOCKADDR_IN;
    return ((this.bytes[a + 2] as number) << 8) | (this.bytes[a + 3] as number);
  }

  /** The source IPv4 address as a number (host order). */
  sourceAddress(i: number): number {
    const b = this.bytes;
    const a = this.rxNames + i * SOCKADDR_IN + 4;
    return (((b[a] as number) << 24) | ((b[a + 1] as number) << 16) | ((b[a + 2] as number) << 8) | (b[a + 3] as number)) >>> 0;
  }

  /** The source address as a dotted quad: built once per address, then from the cache. */
  sourceName(i: number): string {
    const address = this.sourceAddress(i);
    let s = this.names.get(address);
    if (s === undefined) {
      if (this.names.size >= ADDRESS_CACHE_LIMIT) this.names.clear();
      s = `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
      this.names.set(address, s);
    }
    return s;
  }

  /**
   * Datagram i as a view of exactly its length. The bytes are copied into one scratch
   * slot, so the view is valid until the next `packet` call (a handler that keeps
   * bytes copies them, as the jitter buffer does).
   */
  packet(i: number, length: number): Uint8Array {
    const b = this.bytes;
    b.copyWithin(this.scratch, i * SLOT_BYTES, i * SLOT_BYTES + length);
    let v = this.views[length];
    if (v === undefined) {
      v = new Uint8Array(this.mem, this.scratch, length);
      this.views[length] = v;
    }
    return v;
  }

  /**
   * Queues one datagram for the next `flush` (flushing first when the queue is full).
   * `data` must stay unchanged until then. Returns false for a destination that is not
   * an IPv4 address (nothing queued).
   */
  queue(data: Uint8Array, port: number, address: string): boolean {
    if (this.closed) return false;
    const a = parseIpv4(address);
    if (a < 0 || port <= 0 || port > 65535) return false;
    if (this.queued === SEND_BATCH) this.flush();
    const q = this.queued++;
    writeSockaddr(this.bytes, this.txNames + q * SOCKADDR_IN, a, port);
    const iov = (this.txIov + q * IOVEC) >> 2;
    const p = ptr(data);
    this.words[iov] = p >>> 0;
    this.words[iov + 1] = Math.floor(p / 0x100000000);
    this.words[iov + 2] = data.byteLength;
    this.words[iov + 3] = 0;
    return true;
  }

  /** Sends what is queued, in as few sendmmsg calls as the kernel allows; returns how many left. */
  flush(): number {
    const q = this.queued;
    this.queued = 0;
    if (q === 0 || this.closed) return 0;
    let done = 0;
    let sent = 0;
    while (done < q) {
      const r = this.c.sendmmsg(this.fd, this.txMsgsPtr + done * MMSGHDR, q - done, 0);
      if (r <= 0) {
        // The first datagram could not go (an ICMP error queued for its peer, a full
        // send buffer): skip it rather than stall the rest.
        if (r < 0 && errno(this.c) === EAGAIN) {
          this.sendFailures += q - done;
          break;
        }
        this.sendFailures++;
        done++;
        continue;
      }
      done += r;
      sent += r;
    }
    return sent;
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = 0;
    this.c.close(this.fd);
  }
}

/** sockaddr_in at `off`: AF_INET, port and address in network order, zero padding. */
function writeSockaddr(b: Uint8Array, off: number, address: number, port: number): void {
  b[off] = AF_INET;
  b[off + 1] = 0;
  b[off + 2] = port >>> 8;
  b[off + 3] = port & 255;
  b[off + 4] = address >>> 24;
  b[off + 5] = (address >>> 16) & 255;
  b[off + 6] = (address >>> 8) & 255;
  b[off + 7] = address & 255;
  for (let i = 8; i < 16; i++) b[off + i] = 0;
}
