/**
 * Cascade trunks: one meeting mixed by several mixer processes (or nodes), each for
 * its own callers. Every tick each side sends the other its *local* talkers, the ones
 * its mixer just chose (`ConferenceMixer.talkers`, trunk lanes excluded), as 16 kHz
 * 16-bit linear frames; the other side feeds each into an input-only slot of its own
 * mixer (`linear`, `send: false`). So each side's loudest-N choice sees its callers and
 * the other side's talkers: the choice is meeting-wide, and nobody hears themselves,
 * because a side never sends back what it received.
 *
 * A packet (656 bytes; header fields big-endian, samples little-endian):
 *   0-1   "CT"          magic
 *   2     1             version
 *   3     lane          0..lanes-1, stable for a talker while it talks
 *   4-7   receiver id   the receiving side's id for this meeting (told at set-up)
 *   8-11  sequence      per link, +1 a tick (lanes of one tick share it)
 *   12-13 level         RMS of the frame (16-bit scale), for logs and tests
 *   14-15 samples       320
 *   16..  samples       320 x int16 LE, 16 kHz, 20 ms
 *
 * Per packet nothing is allocated: the sender writes into one preallocated buffer, the
 * receiver copies the samples into the lane's preallocated ring.
 */
import type { ConferenceMixer } from "./conference-mixer.ts";
import { JB_LOST } from "./jitter-buffer.ts";
import type { FrameSource } from "./mixer-types.ts";

export const TRUNK_VERSION = 1;
export const TRUNK_HEADER_BYTES = 16;
/** Samples of one frame: 20 ms at 16 kHz. */
export const TRUNK_SAMPLES = 320;
export const TRUNK_FRAME_BYTES = TRUNK_SAMPLES * 2;
export const TRUNK_PACKET_BYTES = TRUNK_HEADER_BYTES + TRUNK_FRAME_BYTES;
const MAGIC0 = 0x43; // C
const MAGIC1 = 0x54; // T

/** A parsed header, filled in place by {@link readTrunkHeader} (one object, reused). */
export class TrunkHeader {
  lane = 0;
  receiverId = 0;
  seq = 0;
  level = 0;
}

/**
 * Writes one packet into `out` at 0: the frame is `pcm[offset .. offset + 320)`
 * (clamped to 16 bits). Returns its length, {@link TRUNK_PACKET_BYTES}.
 * @example const n = writeTrunkFrame(buf, 7, 0, seq, mixer.talkerPcm, k * 320);
 */
export function writeTrunkFrame(
  out: Uint8Array,
  receiverId: number,
  lane: number,
  seq: number,
  pcm: Int32Array | Int16Array,
  offset: number,
): number {
  let acc = 0;
  for (let i = 0; i < TRUNK_SAMPLES; i++) {
    let v = pcm[offset + i] as number;
    if (v > 32767) v = 32767;
    else if (v < -32768) v = -32768;
    acc += v * v;
    const j = TRUNK_HEADER_BYTES + 2 * i;
    out[j] = v & 0xff;
    out[j + 1] = (v >> 8) & 0xff;
  }
  const level = Math.min(65535, Math.round(Math.sqrt(acc / TRUNK_SAMPLES)));
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = TRUNK_VERSION;
  out[3] = lane & 0xff;
  writeU32(out, 4, receiverId);
  writeU32(out, 8, seq);
  out[12] = level >> 8;
  out[13] = level & 0xff;
  out[14] = TRUNK_SAMPLES >> 8;
  out[15] = TRUNK_SAMPLES & 0xff;
  return TRUNK_PACKET_BYTES;
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function readU32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

/** Reads a packet's header into `h`; false when `buf` is not a whole packet of this version. */
export function readTrunkHeader(buf: Uint8Array, h: TrunkHeader): boolean {
  if (buf.length !== TRUNK_PACKET_BYTES || buf[0] !== MAGIC0 || buf[1] !== MAGIC1 || buf[2] !== TRUNK_VERSION) return false;
  if ((((buf[14] as number) << 8) | (buf[15] as number)) !== TRUNK_SAMPLES) return false;
  h.lane = buf[3] as number;
  h.receiverId = readU32(buf, 4);
  h.seq = readU32(buf, 8);
  h.level = ((buf[12] as number) << 8) | (buf[13] as number);
  return true;
}

/** Frames a lane holds at most; older ones are dropped (the latency stays ~2 frames). */
const RING = 4;
/** Frames a lane waits for before it plays, against the two clocks' jitter. */
const PREBUFFER = 2;
/** Missing frames concealed before a lane counts as silent. */
const MAX_LOSS = 3;

/**
 * One talker's stream from the other side, as the mixer reads a caller's: a small
 * ring of frames, played once two are there, concealed (`JB_LOST`) for a few ticks
 * when one is late, silent (0) when the talker stopped.
 */
export class TrunkLane implements FrameSource {
  readonly frameData = new Uint8Array(RING * TRUNK_FRAME_BYTES);
  frameOffset = 0;
  lossRun = 0;
  /** Frames pushed and frames dropped as stale or overflowing (for tests and logs). */
  received = 0;
  dropped = 0;
  private head = 0;
  private count = 0;
  private playing = false;
  private lastSeq = -1;

  /** A packet's frame for this lane (its header already read into `h`). */
  push(buf: Uint8Array, h: TrunkHeader): void {
    // Out of order or repeated (UDP may do both): the frame's time has passed.
    if (this.lastSeq >= 0 && ((h.seq - this.lastSeq) | 0) <= 0) {
      this.dropped++;
      return;
    }
    this.lastSeq = h.seq;
    if (this.count === RING) {
      this.head = (this.head + 1) % RING;
      this.count--;
      this.dropped++;
    }
    const at = ((this.head + this.count) % RING) * TRUNK_FRAME_BYTES;
    const data = this.frameData;
    for (let i = 0; i < TRUNK_FRAME_BYTES; i++) data[at + i] = buf[TRUNK_HEADER_BYTES + i] as number;
    this.count++;
    this.received++;
  }

  readFrame(): number {
    if (!this.playing) {
      if (this.count < PREBUFFER) return 0;
      this.playing = true;
    }
    if (this.count === 0) {
      if (++this.lossRun > MAX_LOSS) {
        this.playing = false;
        this.lossRun = 0;
        return 0;
      }
      return JB_LOST;
    }
    // Two clocks of slightly different speed: a ring that fills up is drained by one.
    if (this.count > PREBUFFER + 1) {
      this.head = (this.head + 1) % RING;
      this.count--;
      this.dropped++;
    }
    this.frameOffset = this.head * TRUNK_FRAME_BYTES;
    this.head = (this.head + 1) % RING;
    this.count--;
    this.lossRun = 0;
    return TRUNK_FRAME_BYTES;
  }

  /** Forgets what it holds (the link was set up again). */
  reset(): void {
    this.head = 0;
    this.count = 0;
    this.playing = false;
    this.lossRun = 0;
    this.lastSeq = -1;
  }
}

/**
 * The sending half of a link: which of a mixer's talkers go on which lane, and their
 * packets. A talker keeps its lane while it talks, so the other side's slot for a lane
 * is one voice at a time.
 * @example
 * const tx = new TrunkSender(mixer.maxTalkers);
 * // after each mixer.tick():
 * const n = tx.prepare(mixer);
 * for (let i = 0; i < n; i++) socket.send(tx.packet(mixer, i, peerId), peerPort, peerHost);
 */
export class TrunkSender {
  /** The slot each lane carries; -1: free. */
  private readonly laneSlot: Int32Array;
  /** The talker index (in `mixer.talkers`) of each lane this tick; -1: idle. */
  private readonly laneTalker: Int32Array;
  /** Lanes with a talker this tick: `busy[0 .. busyCount)`. */
  private readonly busy: Int32Array;
  private busyCount = 0;
  private readonly buf = new Uint8Array(TRUNK_PACKET_BYTES);
  private seq = 0;

  constructor(readonly lanes: number) {
    this.laneSlot = new Int32Array(lanes).fill(-1);
    this.laneTalker = new Int32Array(lanes).fill(-1);
    this.busy = new Int32Array(lanes);
  }

  /** Assigns this tick's local talkers (trunk lanes left out) to lanes; returns how many packets there are. */
  prepare(mixer: ConferenceMixer): number {
    const lanes = this.lanes;
    const talkers = mixer.talkers;
    const n = mixer.talkerCount;
    this.seq = (this.seq + 1) >>> 0;
    this.laneTalker.fill(-1);
    // Lanes whose talker still talks keep it.
    for (let l = 0; l < lanes; l++) {
      const s = this.laneSlot[l] as number;
      if (s < 0) continue;
      let k = -1;
      for (let t = 0; t < n; t++) if (talkers[t] === s) k = t;
      if (k < 0 || mixer.isLinear(s)) this.laneSlot[l] = -1;
      else this.laneTalker[l] = k;
    }
    // New talkers take free lanes.
    for (let t = 0; t < n; t++) {
      const s = talkers[t] as number;
      if (mixer.isLinear(s)) continue;
      let has = false;
      for (let l = 0; l < lanes; l++) if (this.laneSlot[l] === s) has = true;
      if (has) continue;
      for (let l = 0; l < lanes; l++) {
        if (this.laneSlot[l] !== -1) continue;
        this.laneSlot[l] = s;
        this.laneTalker[l] = t;
        break;
      }
    }
    this.busyCount = 0;
    for (let l = 0; l < lanes; l++) if ((this.laneTalker[l] as number) >= 0) this.busy[this.busyCount++] = l;
    return this.busyCount;
  }

  /** Packet `i` of this tick (0 .. prepare()'s count), for the peer that knows the meeting as `receiverId`. */
  packet(mixer: ConferenceMixer, i: number, receiverId: number): Uint8Array {
    const lane = this.busy[i] as number;
    const k = this.laneTalker[lane] as number;
    writeTrunkFrame(this.buf, receiverId, lane, this.seq, mixer.talkerPcm, k * TRUNK_SAMPLES);
    return this.buf;
  }
}
