/**
 * One thread's share of the load: a SIP UAC socket, the calls it places, their RTP sockets
 * (one per call, or one per group of calls), a paced 20 ms media clock for all of them, and
 * receive statistics.
 *
 * Runs in the main thread (small runs, tests) or inside a Bun Worker (see worker.ts), so
 * several cores' worth of callers can be generated. Everything it reports is plain data.
 *
 * A call may be moved by the far end (a multi-process service handing it to another
 * mixer): the re-INVITE's offer is answered with the same codec and our same RTP port,
 * our packets go to the offer's address from the next tick on (sequence numbers and
 * timestamps continue), and the stream from the new port is taken as a new stream: its
 * SSRC and sequence restart without counting as loss, a sequence jump or an SSRC change.
 * Packets still arriving from the old port are ignored from the moment we answer.
 */
import type { udp } from "bun";
import { Ticker } from "./clock.ts";
import {
  ALAW_SILENCE,
  buildOffer,
  createRtpHeader,
  linearToAlaw,
  linearToUlaw,
  negotiateAnswer,
  parseAnswer,
  parseRtp,
  ROLES,
  type Role,
  RTP_HEADER_SIZE as RTP_HEADER_LEN,
  ULAW_DECODE,
  ULAW_SILENCE,
  writeRtpHeader,
} from "@conf/media";
import type { Dialog, ReinviteAnswer } from "@conf/sip";
import { CallerUa, NOT_ACCEPTABLE } from "./caller-ua.ts";
import { CodeSender, codeError } from "./rtp/code.ts";
import { emptyCounters, Histogram, StreamStats } from "./rtp/stats.ts";
import { isTalking, voiceLoop, SAMPLES_PER_FRAME, type VoiceLoop } from "./rtp/talk.ts";

// The callers' roles are the mixer's (one list, in @conf/media).
export { ROLES, type Role };

import {
  type CallRecord,
  type CallSpec,
  type GeneratorConfig,
  type GeneratorReport,
  nowEpoch,
  type RxSummary,
} from "./generator-types.ts";

/** Audio and events the far end's answer agreed on. */
interface Negotiated {
  /** Where to send RTP. */
  address: string;
  port: number;
  /** Audio payload type (PCMU 0 or PCMA 8). */
  audioPt: number;
  /** telephone-event payload type, or null when refused. */
  eventPt: number | null;
}

const VOICE_ENERGY_THRESHOLD = 300;

/** A local RTP socket and the calls on it, demultiplexed by the far end's port. */
interface RtpPort {
  socket: udp.Socket<"buffer">;
  port: number;
  /** Calls keyed by the remote RTP port of their answer. */
  byRemotePort: Map<number, CallState>;
  /** Calls placed on this socket and not yet ended (including unanswered ones). */
  members: number;
  /** Calls ever placed on it; a full socket takes no more. */
  placed: number;
  /** Pending packets for one sendMany: [data, port, address, ...]. */
  batch: (Uint8Array | number | string)[];
  closed: boolean;
}

interface CallState {
  spec: CallSpec;
  rec: CallRecord;
  rtp: RtpPort | null;
  dialog: Dialog | null;
  answer: Negotiated | null;
  stats: StreamStats;
  phase: number;
  ssrc: number;
  seq: number;
  ts0: number;
  tick: number;
  /** Version of the last SDP we sent (o= line), grows with each answer to a re-INVITE. */
  sdpVersion: number;
  /** We answered recvonly or inactive: ticks pass (timestamps advance) but nothing is sent. */
  hold: boolean;
  /** Arrival (performance.now) of the last packet received, for the gap across a move. */
  lastRxAt: number;
  /** Arrival of the last packet before a move whose new stream has not started yet, or -1. */
  moveFrom: number;
  /** Tick at which DTMF starts (relative to the call's own ticks), or -1. */
  dtmfStart: number;
  /** The code's telephone-event packets, or null. */
  dtmf: CodeSender | null;
  dtmfDone: boolean;
  audio: Uint8Array;
  events: Uint8Array[];
  voice: VoiceLoop | null;
  silence: number;
  media: boolean;
  markNext: boolean;
  rxCount: number;
  ended: boolean;
}

/** The calls and media of one thread. */
export class Generator {
  private readonly cfg: GeneratorConfig;
  private uac!: CallerUa;
  private readonly calls: CallState[] = [];
  private readonly byPhase: CallState[][];
  private readonly ticker: Ticker;
  private readonly deviation = new Histogram(0.1, 1000);
  private readonly voices = new Map<string, VoiceLoop>();
  private nextPort: number;
  private readonly tx = { packets: 0, dtmfPackets: 0, sendFailures: 0, socketErrors: 0 };
  private readonly energy: RxSummary["energy"] = {
    host: { checked: 0, voiced: 0 },
    participant: { checked: 0, voiced: 0 },
    listener: { checked: 0, voiced: 0 },
  };
  private windowStart = performance.now();
  private readonly holds = new Set<ReturnType<typeof setTimeout>>();
  private readonly lingering = new Set<RtpPort>();
  private openRtp: RtpPort | null = null;
  private rtpAlloc: Promise<unknown> = Promise.resolve();
  /** Sockets with queued packets in the current sub-tick. */
  private readonly dirty: RtpPort[] = [];
  private readonly hdr = createRtpHeader();

  private constructor(cfg: GeneratorConfig) {
    this.cfg = cfg;
    this.nextPort = cfg.rtpPortMin;
    this.byPhase = Array.from({ length: Math.max(1, cfg.phases) }, () => []);
    this.ticker = new Ticker({
      periodMs: 20,
      phases: Math.max(1, cfg.phases),
      onTick: (_t, phase) => this.onTick(phase),
    });
  }

  static async create(cfg: GeneratorConfig): Promise<Generator> {
    const g = new Generator(cfg);
    g.uac = await CallerUa.create({ hostname: cfg.localHost, t1Ms: cfg.t1Ms });
    g.ticker.startAt();
    return g;
  }

  /** Calls answered and not ended. */
  get liveCalls(): number {
    let n = 0;
    for (const c of this.calls) if (c.dialog && !c.ended) n++;
    return n;
  }

  /**
   * Place `specs` at `ratePerSec` (0 = all at once). Resolves when every INVITE has a final
   * outcome (answered or failed).
   */
  async place(specs: CallSpec[], ratePerSec: number): Promise<void> {
    const started = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < specs.length; i++) {
      if (ratePerSec > 0) {
        const due = started + (i * 1000) / ratePerSec;
        const wait = due - performance.now();
        if (wait > 1) await Bun.sleep(wait);
      }
      pending.push(this.placeOne(specs[i]!));
    }
    await Promise.all(pending);
  }

  /** A socket with room for one more call (allocations are serialized so groups fill up). */
  private rtpPortFor(): Promise<RtpPort | null> {
    const next = this.rtpAlloc.then(() => this.allocRtp());
    this.rtpAlloc = next.catch(() => null);
    return next;
  }

  /** The open group if it has room, or a newly bound socket. */
  private async allocRtp(): Promise<RtpPort | null> {
    const per = Math.max(1, Math.floor(this.cfg.callsPerSocket ?? 1));
    const open = this.openRtp;
    if (open && !open.closed && open.placed < per) {
      open.placed++;
      open.members++;
      return open;
    }
    const span = this.cfg.rtpPortMax - this.cfg.rtpPortMin + 1;
    for (let attempt = 0; attempt < span; attempt++) {
      const port = this.nextPort;
      this.nextPort = port + 1 > this.cfg.rtpPortMax ? this.cfg.rtpPortMin : port + 1;
      try {
        const rtp: RtpPort = {
          socket: null as unknown as udp.Socket<"buffer">,
          port,
          byRemotePort: new Map(),
          members: 1,
          placed: 1,
          batch: [],
          closed: false,
        };
        rtp.socket = await Bun.udpSocket({
          hostname: this.cfg.localHost,
          port,
          socket: {
            data: (_s, data, rport) => {
              const call = rtp.byRemotePort.get(rport);
              if (call) this.onRtp(call, data);
            },
            // ICMP port unreachable when the far end closed its port: counted, not fatal.
            error: () => {
              this.tx.socketErrors++;
            },
          },
        });
        this.openRtp = rtp;
        return rtp;
      } catch {
        // Port in use (another caller or process): try the next one.
      }
    }
    return null;
  }

  /** Take a call off its socket; close the socket (after `lingerMs`) when none is left. */
  private releaseRtp(s: CallState, lingerMs: number): void {
    const rtp = s.rtp;
    if (!rtp) return;
    s.rtp = null;
    // Keep the demux entry while lingering so late packets are absorbed, not counted.
    rtp.members--;
    const per = Math.max(1, Math.floor(this.cfg.callsPerSocket ?? 1));
    if (rtp.members > 0 || (rtp === this.openRtp && rtp.placed < per)) {
      if (s.answer)
        setTimeout(() => rtp.byRemotePort.get(s.answer!.port) === s && rtp.byRemotePort.delete(s.answer!.port), lingerMs);
      return;
    }
    rtp.closed = true;
    if (rtp === this.openRtp) this.openRtp = null;
    if (lingerMs > 0) {
      this.lingering.add(rtp);
      setTimeout(() => {
        this.lingering.delete(rtp);
        rtp.socket.close();
      }, lingerMs);
    } else {
      rtp.socket.close();
    }
  }

  private async placeOne(spec: CallSpec): Promise<void> {
    const rec: CallRecord = {
      index: spec.index,
      fromUser: spec.fromUser,
      role: spec.role,
      status: 0,
      reason: "",
      inviteAt: null,
      answeredAt: null,
      codeSentAt: null,
      codeDoneAt: null,
      hangupAt: null,
      firstRtpAt: null,
      remoteByeAt: null,
      byeStatus: null,
      inviteTo200Ms: null,
      inviteTo100Ms: null,
      retransmissions: 0,
      moves: 0,
      moveGapMs: null,
    };
    const state: CallState = {
      spec,
      rec,
      rtp: null,
      dialog: null,
      answer: null,
      stats: new StreamStats({ lateMs: this.cfg.lateMs, deviation: this.deviation }),
      phase: spec.index % this.byPhase.length,
      ssrc: (Math.random() * 0x100000000) >>> 0,
      seq: (Math.random() * 0x10000) & 0xffff,
      ts0: (Math.random() * 0x100000000) >>> 0,
      tick: 0,
      sdpVersion: 1,
      hold: false,
      lastRxAt: 0,
      moveFrom: -1,
      dtmfStart: -1,
      dtmf: null,
      dtmfDone: spec.digits.length === 0,
      audio: new Uint8Array(RTP_HEADER_LEN + SAMPLES_PER_FRAME),
      events: [new Uint8Array(16), new Uint8Array(16), new Uint8Array(16)],
      voice: null,
      silence: ULAW_SILENCE,
      media: false,
      markNext: true,
      rxCount: 0,
      ended: false,
    };
    this.calls.push(state);
    state.rtp = await this.rtpPortFor();
    if (!state.rtp) {
      rec.status = -1;
      rec.reason = "no free local RTP port";
      state.ended = true;
      return;
    }
    const sdp = buildOffer({
      address: this.cfg.localHost,
      port: state.rtp.port,
      sessionId: spec.index + 1,
      codecs: ["PCMU", "PCMA"],
    });
    rec.inviteAt = nowEpoch();
    const outcome = await this.uac.invite({ target: this.cfg.sip, toUser: spec.toUser, fromUser: spec.fromUser, sdp });
    rec.status = outcome.status;
    rec.retransmissions = outcome.timings.retransmissions;
    rec.inviteTo100Ms = outcome.timings.firstProvisionalMs;
    if (!outcome.ok) {
      rec.reason = outcome.reason;
      this.endMedia(state);
      return;
    }
    rec.inviteTo200Ms = outcome.timings.finalMs;
    rec.answeredAt = nowEpoch();
    state.dialog = outcome.dialog;
    if (state.ended) {
      // Hung up (hangupAll, close) while the INVITE was pending: end the new dialog too.
      rec.hangupAt = nowEpoch();
      rec.byeStatus = await this.uac.bye(outcome.dialog);
      return;
    }
    this.uac.on(outcome.dialog, {
      onBye: () => {
        rec.remoteByeAt = nowEpoch();
        this.endMedia(state);
      },
      onReinvite: (offer) => this.onReoffer(state, offer),
      // No ACK for our answer to a re-INVITE: the stack hung up.
      onFailed: () => this.endMedia(state),
    });
    const answer = parseAnswer(outcome.answerSdp, ["PCMU", "PCMA"]);
    if (!answer.ok) {
      rec.reason = answer.error;
      rec.status = -2;
      await this.hangupOne(state);
      return;
    }
    const agreed: Negotiated = {
      address: answer.value.remoteAddress,
      port: answer.value.remotePort,
      audioPt: answer.value.payloadType,
      eventPt: answer.value.telephoneEventPt,
    };
    state.answer = agreed;
    if (state.rtp) {
      if (state.rtp.byRemotePort.has(agreed.port)) {
        // Two calls on one socket answered from the same far port cannot be told apart.
        rec.reason = `far end reused RTP port ${agreed.port} on a shared socket`;
        rec.status = -5;
        await this.hangupOne(state);
        return;
      }
      state.rtp.byRemotePort.set(agreed.port, state);
    }
    if (agreed.audioPt === 8) state.silence = ALAW_SILENCE;
    if (spec.send === "voice") state.voice = this.voiceFor(spec.talker, agreed.audioPt);
    state.audio.fill(state.silence, RTP_HEADER_LEN);
    if (spec.digits.length > 0) {
      if (agreed.eventPt === null) {
        rec.reason = "answer has no telephone-event";
        rec.status = -3;
        await this.hangupOne(state);
        return;
      }
      const bad = codeError(spec.digits);
      if (bad !== null) {
        rec.reason = bad;
        rec.status = -4;
        await this.hangupOne(state);
        return;
      }
      state.dtmf = new CodeSender(spec.digits);
      state.dtmfStart = Math.ceil(this.cfg.codeDelayMs / 20);
    }
    state.tick = 0;
    state.media = true;
    this.byPhase[state.phase]!.push(state);
    if (spec.holdMs !== undefined) {
      const after = spec.holdMs + (state.dtmf ? (state.dtmfStart + state.dtmf.ticks) * 20 : 0);
      const t = setTimeout(() => {
        this.holds.delete(t);
        void this.hangupOne(state);
      }, after);
      this.holds.add(t);
    }
  }

  /**
   * Answer a re-INVITE's offer: same codec, our same RTP port. When the offer names another
   * address or port the call moves there: sends go to it from the next packet on, the demux
   * follows the new far port, and receive statistics start a new stream.
   */
  private onReoffer(s: CallState, offerSdp: string): ReinviteAnswer {
    const a = s.answer;
    const rtp = s.rtp;
    if (s.ended || !a || !rtp) return { status: 481, reason: "Call/Transaction Does Not Exist" };
    // Our voice frames and silence are encoded for the codec we have: keep it or refuse.
    const negotiated = negotiateAnswer(offerSdp, {
      address: this.cfg.localHost,
      port: rtp.port,
      sessionId: s.spec.index + 1,
      sessionVersion: s.sdpVersion + 1,
      codecs: [a.audioPt === 8 ? "PCMA" : "PCMU"],
    });
    if (!negotiated.ok) return NOT_ACCEPTABLE;
    const offer = negotiated.value;
    const moved = offer.remoteAddress !== a.address || offer.remotePort !== a.port;
    if (moved) {
      const other = rtp.byRemotePort.get(offer.remotePort);
      // On a shared socket two calls with one far port could not be told apart.
      if (other && other !== s) return NOT_ACCEPTABLE;
      if (rtp.byRemotePort.get(a.port) === s) rtp.byRemotePort.delete(a.port);
      rtp.byRemotePort.set(offer.remotePort, s);
      s.stats.newStream();
      if (s.rxCount > 0 && s.moveFrom < 0) s.moveFrom = s.lastRxAt;
      s.rec.moves++;
    }
    s.sdpVersion++;
    const direction = offer.direction;
    s.hold = direction === "recvonly" || direction === "inactive" || offer.remoteAddress === "0.0.0.0";
    s.answer = { ...a, address: offer.remoteAddress, port: offer.remotePort, eventPt: offer.telephoneEventPt };
    return { sdp: offer.answer };
  }

  private voiceFor(talker: number, pt: number): VoiceLoop {
    const key = `${talker}/${pt}`;
    let v = this.voices.get(key);
    if (!v) {
      v = voiceLoop(talker, 2, pt === 8 ? linearToAlaw : linearToUlaw);
      this.voices.set(key, v);
    }
    return v;
  }

  private onTick(phase: number): void {
    const list = this.byPhase[phase];
    if (!list) return;
    const dirty = this.dirty;
    for (let i = 0; i < list.length; i++) this.sendTick(list[i]!);
    for (let i = 0; i < dirty.length; i++) this.flush(dirty[i]!);
    dirty.length = 0;
  }

  /** Queue one packet on the call's socket; sent when the tick's calls are done. */
  private queue(s: CallState, buf: Uint8Array): void {
    const rtp = s.rtp!;
    const a = s.answer!;
    if (rtp.batch.length === 0) this.dirty.push(rtp);
    rtp.batch.push(buf, a.port, a.address);
    this.tx.packets++;
  }

  private flush(rtp: RtpPort): void {
    const b = rtp.batch;
    const n = b.length / 3;
    try {
      if (rtp.closed) {
        this.tx.sendFailures += n;
      } else if (n === 1) {
        if (!rtp.socket.send(b[0] as Uint8Array, b[1] as number, b[2] as string)) this.tx.sendFailures++;
      } else {
        // One syscall for the group (and for a digit's redundant end packets).
        const sent = rtp.socket.sendMany(b);
        if (sent < n) this.tx.sendFailures += n - sent;
      }
    } catch {
      // e.g. ECONNREFUSED after the far end closed its port: failed sends, not a crash.
      this.tx.sendFailures += n;
    }
    b.length = 0;
  }

  private sendTick(s: CallState): void {
    if (!s.media || !s.rtp || !s.answer) return;
    const k = s.tick++;
    if (s.hold) return;
    const ts = (s.ts0 + k * SAMPLES_PER_FRAME) >>> 0;
    const a = s.answer;
    if (s.dtmf && k >= s.dtmfStart) {
      const step = k - s.dtmfStart;
      if (step < s.dtmf.ticks) {
        const n = s.dtmf.step(step, (s.ts0 + k * SAMPLES_PER_FRAME) >>> 0, s.events, RTP_HEADER_LEN);
        if (n > 0) {
          for (let j = 0; j < n; j++) {
            const buf = s.events[j]!;
            writeRtpHeader(buf, 0, a.eventPt ?? 101, s.dtmf.markers[j]!, s.seq, s.dtmf.eventTimestamp, s.ssrc);
            s.seq = (s.seq + 1) & 0xffff;
            this.queue(s, buf);
            this.tx.dtmfPackets++;
          }
          if (step === s.dtmf.lastKeyTick) s.rec.codeSentAt = nowEpoch();
          s.markNext = true;
          return;
        }
      } else if (!s.dtmfDone) {
        s.dtmfDone = true;
        s.rec.codeDoneAt = nowEpoch();
      }
    }
    // Audio: before and between digits every caller sends (silence); after the code,
    // per its mode.
    const mode = s.dtmfDone ? s.spec.send : "silence";
    if (mode === "none") return;
    const buf = s.audio;
    let talking = false;
    if (mode === "voice" && s.voice) {
      talking = isTalking(this.cfg.talk, s.spec.talker, k);
      if (talking) {
        const frame = s.voice.frames[k % s.voice.frames.length]!;
        buf.set(frame, RTP_HEADER_LEN);
      } else {
        buf.fill(s.silence, RTP_HEADER_LEN);
      }
    }
    writeRtpHeader(buf, 0, a.audioPt, s.markNext, s.seq, ts, s.ssrc);
    s.markNext = false;
    s.seq = (s.seq + 1) & 0xffff;
    this.queue(s, buf);
  }

  private onRtp(s: CallState, data: Buffer): void {
    const now = performance.now();
    const h = this.hdr;
    if (!parseRtp(data, 0, data.length, h)) return;
    if (s.ended || !s.answer || h.payloadType !== s.answer.audioPt) return;
    if (s.rxCount++ === 0) s.rec.firstRtpAt = nowEpoch();
    if (s.moveFrom >= 0) {
      const gap = now - s.moveFrom;
      if (s.rec.moveGapMs === null || gap > s.rec.moveGapMs) s.rec.moveGapMs = gap;
      s.moveFrom = -1;
    }
    s.lastRxAt = now;
    s.stats.onPacket(h.sequence, h.timestamp, h.ssrc, h.marker, now, data.length);
    const every = this.cfg.energyEvery;
    if (every > 0 && s.dtmfDone && s.rxCount % every === 0 && h.payloadType === 0) {
      let sum = 0;
      const end = h.payloadOffset + h.payloadLength;
      for (let i = h.payloadOffset; i < end; i++) {
        const v = ULAW_DECODE[data[i]!]!;
        sum += v < 0 ? -v : v;
      }
      const e = this.energy[s.spec.role];
      e.checked++;
      if (sum / Math.max(1, h.payloadLength) > VOICE_ENERGY_THRESHOLD) e.voiced++;
    }
  }

  private endMedia(s: CallState, lingerMs = 0): void {
    s.ended = true;
    if (s.media) {
      s.media = false;
      const list = this.byPhase[s.phase]!;
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
    }
    // Still bound while lingering, but onRtp ignores an ended call.
    this.releaseRtp(s, lingerMs);
  }

  private async hangupOne(s: CallState): Promise<void> {
    const d = s.dialog;
    this.endMedia(s, this.cfg.rtpLingerMs ?? 0);
    if (!d || d.state === "terminated") return;
    s.rec.hangupAt = nowEpoch();
    s.rec.byeStatus = await this.uac.bye(d);
  }

  /** Hang up every live call at `ratePerSec` (0 = all at once); resolves when all BYEs end. */
  async hangupAll(ratePerSec: number): Promise<void> {
    for (const t of this.holds) clearTimeout(t);
    this.holds.clear();
    const started = performance.now();
    const pending: Promise<void>[] = [];
    let i = 0;
    for (const s of this.calls) {
      // Already over (failed, hung up by either side), or still ringing: placeOne ends
      // a pending call itself once it sees `ended`.
      if (s.ended) continue;
      if (!s.dialog) {
        this.endMedia(s);
        continue;
      }
      if (ratePerSec > 0) {
        const wait = started + (i * 1000) / ratePerSec - performance.now();
        if (wait > 1) await Bun.sleep(wait);
      }
      i++;
      pending.push(this.hangupOne(s));
    }
    await Promise.all(pending);
  }

  /** Start a measurement window: zero receive counters and histograms. */
  resetWindow(): void {
    for (const s of this.calls) s.stats.resetCounters();
    this.deviation.reset();
    this.ticker.lag.reset();
    this.ticker.skipped = 0;
    this.tx.packets = 0;
    this.tx.dtmfPackets = 0;
    this.tx.sendFailures = 0;
    this.tx.socketErrors = 0;
    for (const r of ROLES) {
      this.energy[r].checked = 0;
      this.energy[r].voiced = 0;
    }
    this.windowStart = performance.now();
  }

  /** Snapshot of everything measured since the last window reset. */
  report(): GeneratorReport {
    const counters = emptyCounters();
    const jitter = new Histogram(0.01, 200);
    let lost = 0;
    let streams = 0;
    let withLoss = 0;
    let worst = 0;
    for (const s of this.calls) {
      if (!s.dialog) continue;
      const c = s.stats.c;
      streams++;
      counters.packets += c.packets;
      counters.expected += c.expected;
      counters.duplicates += c.duplicates;
      counters.reordered += c.reordered;
      counters.seqJumps += c.seqJumps;
      counters.tsErrors += c.tsErrors;
      counters.ssrcChanges += c.ssrcChanges;
      counters.late += c.late;
      counters.bytes += c.bytes;
      if (c.maxGapMs > counters.maxGapMs) counters.maxGapMs = c.maxGapMs;
      if (c.packets > 0) jitter.record(c.jitterMs);
      const l = s.stats.lost;
      lost += l;
      if (l > 0) withLoss++;
      if (c.expected > 0) worst = Math.max(worst, (100 * l) / c.expected);
    }
    counters.jitterMs = jitter.count > 0 ? jitter.sum / jitter.count : 0;
    return {
      calls: this.calls.map((s) => ({ ...s.rec })),
      rx: {
        streams,
        counters,
        lost,
        streamsWithLoss: withLoss,
        worstStreamLossPct: worst,
        jitter: jitter.toData(),
        deviation: this.deviation.toData(),
        energy: structuredClone(this.energy),
      },
      tx: { ...this.tx },
      lag: this.ticker.lag.toData(),
      skippedTicks: this.ticker.skipped,
      sip: this.uac.counters,
      windowMs: performance.now() - this.windowStart,
    };
  }

  /** Stop the clock and close every socket (after hangupAll). */
  close(): void {
    this.ticker.stop();
    for (const s of this.calls) this.endMedia(s);
    for (const rtp of this.lingering) rtp.socket.close();
    this.lingering.clear();
    if (this.openRtp && !this.openRtp.closed) this.openRtp.socket.close();
    this.openRtp = null;
    this.uac.close();
  }
}
