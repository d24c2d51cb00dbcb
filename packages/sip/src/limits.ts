/**
 * The SIP door's limits: what one source address may ask of us (new INVITEs per
 * second, INVITEs waiting for their answer or ACK, calls at a time), and how large a
 * message or SDP offer may be, checked before the expensive parsing.
 *
 * The UA answers every INVITE it admits at once and keeps an RTP port for it until the
 * ACK (or timer H, 32 s); one source sending INVITEs without ACKs used to take every
 * port, and everyone else got 503. Per-source caps keep one source's share bounded.
 */

/** Per-source INVITE limits. */
export interface SourceLimits {
  /** New INVITEs per second from one source (token bucket rate). */
  invitesPerSecond: number;
  /** Bucket size: INVITEs one source may send at once. */
  burst: number;
  /** INVITEs from one source not yet answered, or answered and not yet ACKed. */
  pendingPerSource: number;
  /** Calls from one source at a time (from the INVITE until the dialog ends). */
  callsPerSource: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  invitesPerSecond: 10,
  burst: 30,
  pendingPerSource: 20,
  callsPerSource: 200,
};

/** Size limits checked before (or instead of) parsing. */
export interface MessageLimits {
  /** Larger datagrams are not parsed (513 when the header section can be read cheaply). */
  maxMessageBytes: number;
  /** More header lines: dropped unparsed. */
  maxHeaders: number;
  /** Payload types per SDP m-line. */
  sdpMaxFormats: number;
  /** m-lines per SDP. */
  sdpMaxMedia: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxMessageBytes: 16_384,
  maxHeaders: 100,
  sdpMaxFormats: 64,
  sdpMaxMedia: 8,
};

/** What to do with a new INVITE. */
export type AdmitVerdict =
  | { kind: "admit"; ticket: AdmissionTicket }
  | { kind: "refuse"; retryAfterSeconds: number; why: string }
  | { kind: "drop"; why: string };

/** One admitted INVITE's hold on its source's pending and call counts; each ends once. */
export interface AdmissionTicket {
  /** Answered with a failure, or ACKed, or the ACK never came. */
  settle(): void;
  /** The call is over (failed, cancelled, or its dialog ended). Settles too. */
  end(): void;
}

interface SourceState {
  tokens: number;
  /** Budget of 503s: past it, a source's INVITEs are dropped unanswered. */
  refusals: number;
  last: number;
  pending: number;
  calls: number;
}

const NOOP_TICKET: AdmissionTicket = { settle() {}, end() {} };
/** Sources looked at between sweeps of idle ones. */
const SWEEP_EVERY = 1024;

/**
 * Token bucket and counts per source address.
 *
 * @example
 * const v = admission.admit(src.address);
 * if (v.kind === "admit") { ...; v.ticket.settle(); ...; v.ticket.end(); }
 */
export class SourceAdmission {
  private readonly sources = new Map<string, SourceState>();
  private sinceSweep = 0;

  constructor(
    readonly limits: SourceLimits,
    /** Carriers and SBCs carry everyone's calls: no per-source caps for them. */
    private readonly trusted: (address: string) => boolean = () => false,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Sources with state (for tests and stats). */
  get size(): number {
    return this.sources.size;
  }

  admit(address: string): AdmitVerdict {
    if (this.trusted(address)) return { kind: "admit", ticket: NOOP_TICKET };
    const t = this.now();
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep(t);
    const l = this.limits;
    let s = this.sources.get(address);
    if (!s) {
      s = { tokens: l.burst, refusals: l.burst, last: t, pending: 0, calls: 0 };
      this.sources.set(address, s);
    }
    const refill = ((t - s.last) / 1000) * l.invitesPerSecond;
    s.tokens = Math.min(l.burst, s.tokens + refill);
    s.refusals = Math.min(l.burst, s.refusals + refill);
    s.last = t;
    let why: string | null = null;
    if (s.tokens < 1) why = "INVITE rate";
    else if (s.pending >= l.pendingPerSource) why = "INVITEs waiting for an answer or ACK";
    else if (s.calls >= l.callsPerSource) why = "calls at a time";
    if (why !== null) {
      // Answering a flood costs as much as taking it: past a second budget, silence.
      if (s.refusals < 1) return { kind: "drop", why };
      s.refusals -= 1;
      return { kind: "refuse", retryAfterSeconds: Math.max(1, Math.ceil(1 / l.invitesPerSecond)), why };
    }
    s.tokens -= 1;
    s.pending++;
    s.calls++;
    const state = s;
    let settled = false;
    let ended = false;
    const ticket: AdmissionTicket = {
      settle: () => {
        if (settled) return;
        settled = true;
        state.pending--;
      },
      end: () => {
        ticket.settle();
        if (ended) return;
        ended = true;
        state.calls--;
        // A fresh state object replaces a forgotten one, so a late end on it is harmless.
      },
    };
    return { kind: "admit", ticket };
  }

  /** Forgets sources with nothing in flight and a full bucket. */
  private sweep(t: number): void {
    this.sinceSweep = 0;
    const l = this.limits;
    for (const [address, s] of this.sources) {
      const full = s.tokens + ((t - s.last) / 1000) * l.invitesPerSecond >= l.burst;
      if (full && s.pending === 0 && s.calls === 0) this.sources.delete(address);
    }
  }
}

/**
 * Header lines of a datagram (up to the empty line), counting no further than `max + 1`;
 * `max + 1` means too many. Cheap: one pass over the header bytes, no decoding.
 */
export function countHeaderLines(buf: Uint8Array, max: number): number {
  let lines = 0;
  let lineStart = 0;
  // Leading CRLFs (keep-alives) are not lines.
  while (lineStart < buf.length && (buf[lineStart] === 0x0d || buf[lineStart] === 0x0a)) lineStart++;
  for (let i = lineStart; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    const lineEnd = i > lineStart && buf[i - 1] === 0x0d ? i - 1 : i;
    if (lineEnd === lineStart) return lines;
    lines++;
    if (lines > max) return max + 1;
    lineStart = i + 1;
  }
  return lines;
}

/**
 * Where the body of a datagram starts (after the empty line), looking at most at the
 * first `limit` bytes; -1 when the header section does not end there.
 */
export function headerSectionEnd(buf: Uint8Array, limit: number): number {
  const end = Math.min(buf.length, limit);
  let lineStart = 0;
  while (lineStart < end && (buf[lineStart] === 0x0d || buf[lineStart] === 0x0a)) lineStart++;
  for (let i = lineStart; i < end; i++) {
    if (buf[i] !== 0x0a) continue;
    const lineEnd = i > lineStart && buf[i - 1] === 0x0d ? i - 1 : i;
    if (lineEnd === lineStart) return i + 1;
    lineStart = i + 1;
  }
  return -1;
}

/**
 * Why an SDP offer is too large to negotiate (too many m-lines, or payload types on
 * one), or null. Counts without parsing the SDP.
 */
export function sdpTooLarge(sdp: string, limits: Pick<MessageLimits, "sdpMaxFormats" | "sdpMaxMedia">): string | null {
  let media = 0;
  let at = sdp.startsWith("m=") ? 0 : -1;
  if (at < 0) at = nextMediaLine(sdp, 0);
  while (at >= 0) {
    media++;
    if (media > limits.sdpMaxMedia) return `more than ${limits.sdpMaxMedia} m-lines`;
    let end = sdp.indexOf("\n", at);
    if (end < 0) end = sdp.length;
    // m=<media> <port> <proto> <fmt> ...: formats are the fields after the third.
    let fields = 0;
    let inField = false;
    for (let i = at; i < end; i++) {
      const c = sdp.charCodeAt(i);
      const space = c === 0x20 || c === 0x09 || c === 0x0d;
      if (!space && !inField) fields++;
      inField = !space;
      if (fields - 3 > limits.sdpMaxFormats) return `more than ${limits.sdpMaxFormats} payload types on an m-line`;
    }
    at = nextMediaLine(sdp, end);
  }
  return null;
}

function nextMediaLine(sdp: string, from: number): number {
  const i = sdp.indexOf("\nm=", from);
  return i < 0 ? -1 : i + 1;
}
