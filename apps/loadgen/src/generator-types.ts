/**
 * What a generator thread is asked to do and what it reports: the call specs, its
 * configuration, and the plain-data records and summaries that cross the thread
 * boundary (worker.ts). The engine that does it is generator.ts.
 */
import type { Role } from "@conf/media";
import type { HostPort, SipCounters } from "./caller-ua.ts";
import type { HistogramData, StreamCounters } from "./rtp/stats.ts";
import type { TalkPattern } from "./rtp/talk.ts";

/** What a caller sends after keying its code. */
export const SEND_MODES = ["voice", "silence", "none"] as const;
export type SendMode = (typeof SEND_MODES)[number];

/** One call to place. */
export interface CallSpec {
  /** Global index (unique across workers). */
  index: number;
  /** Caller number (From user part); distinct per call. */
  fromUser: string;
  /** Dialed number (Request-URI user part). */
  toUser: string;
  /** Digits to key after answer, e.g. "1234#"; empty for none. */
  digits: string;
  role: Role;
  send: SendMode;
  /** Talker number for `voice` callers (selects the voice). */
  talker: number;
  /** Hang up by itself this long after the code is keyed (or the answer, without a code), ms; absent = stay until hangupAll. */
  holdMs?: number;
}

export interface GeneratorConfig {
  sip: HostPort;
  /** Local address for SIP and RTP sockets. */
  localHost: string;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Sub-ticks per 20 ms over which callers are spread (default 4). */
  phases: number;
  /** Wait after the 200 OK before keying digits, ms. */
  codeDelayMs: number;
  talk: TalkPattern;
  /** Inter-arrival gap counted as late, ms (default 25). */
  lateMs: number;
  /** SIP T1 in ms (default 500). */
  t1Ms?: number;
  /** Decode every Nth received frame to tell voice from silence (0 = never). */
  energyEvery: number;
  /**
   * Calls sharing one local RTP socket (default 1: a socket per call, like phones). A
   * group socket is advertised in every member's SDP; the far end's per-call port (it
   * answers from the port of its SDP) tells the streams apart. Sends of a group go out in
   * one `sendMany` per tick phase and receives are drained in batches, which costs the
   * generator about a third of what a socket per call does (see BENCHMARKS.md).
   */
  callsPerSocket?: number;
  /**
   * Keep our RTP port open this long after we hang up, so packets the far end sends before
   * it processes the BYE do not come back as ICMP port-unreachable (default 0).
   */
  rtpLingerMs?: number;
}

/** Per-call outcome kept for the report. */
export interface CallRecord {
  index: number;
  fromUser: string;
  role: Role;
  status: number;
  reason: string;
  /** Epoch ms (performance.timeOrigin based) of events; null if not reached. */
  inviteAt: number | null;
  answeredAt: number | null;
  /** When the last key (normally '#') was pressed: the first packet of its event went out. */
  codeSentAt: number | null;
  /** When the digit sequence (with its trailing gap) finished and the caller's own audio began. */
  codeDoneAt: number | null;
  /** When we hung up (BYE sent), or null. */
  hangupAt: number | null;
  firstRtpAt: number | null;
  remoteByeAt: number | null;
  byeStatus: number | null;
  inviteTo200Ms: number | null;
  inviteTo100Ms: number | null;
  retransmissions: number;
  /** re-INVITEs that moved the call's media to another address or port. */
  moves: number;
  /** Longest silence across a move: last packet from the old port to the first from the new one, ms. */
  moveGapMs: number | null;
}

/** Aggregated receive side of many streams. */
export interface RxSummary {
  streams: number;
  counters: StreamCounters;
  lost: number;
  /** Streams with at least one lost packet. */
  streamsWithLoss: number;
  worstStreamLossPct: number;
  /** Distribution over streams of the final RFC 3550 jitter (ms). */
  jitter: HistogramData;
  /** |inter-arrival - packet spacing| of consecutive packets, ms. */
  deviation: HistogramData;
  /** Frames decoded for energy, and those with voice energy, per role. */
  energy: Record<Role, { checked: number; voiced: number }>;
}

export interface GeneratorReport {
  calls: CallRecord[];
  rx: RxSummary;
  tx: { packets: number; dtmfPackets: number; sendFailures: number; socketErrors: number };
  /** How late the generator's own media ticks ran (its noise floor). */
  lag: HistogramData;
  skippedTicks: number;
  sip: SipCounters;
  windowMs: number;
}

/** Epoch ms with sub-ms resolution, comparable across workers and with API dates. */
export function nowEpoch(): number {
  return performance.timeOrigin + performance.now();
}
