import { describe, expect, test } from "bun:test";
import { CODEC_G722, CODEC_OPUS, CODEC_PCMA, CODEC_PCMU, type CodecName, codecId } from "./codec.ts";
import { ConferenceMixer } from "./conference-mixer.ts";
import { type ConferenceMixerOptions, MIXER_EVENT_DIGIT, MIXER_EVENT_PROMPT_DONE, type SlotOptions } from "./mixer-types.ts";
import { dtmfKey } from "./dtmf.ts";
import { ALAW_DECODE, ULAW_DECODE, encodeAlaw, encodeUlaw } from "./g711.ts";
import { G722Decoder, G722Encoder } from "./g722.ts";
import { goertzelAmplitude } from "./goertzel.ts";
import { JitterBuffer } from "./jitter-buffer.ts";
import { OpusDecoder, OpusEncoder, opusLiveStates } from "./opus.ts";
import { ENTRY_TONE, LoopSource, synthTone } from "./tones.ts";

const MOH = new Map([["default", new LoopSource("default", synthTone([300], 1000, 6000, 0))]]);
MOH.set("beep", new LoopSource("beep", synthTone([2500], 1000, 6000, 0)));

/** A simulated phone: sends a tone through RTP into a jitter buffer, decodes what it receives. */
class Phone {
  readonly jb = new JitterBuffer();
  readonly codec: number;
  slot = -1;
  private seq = 1000;
  private ts = 0;
  private phase = 0;
  private readonly enc = new G722Encoder();
  private readonly dec = new G722Decoder();
  private opusEnc: OpusEncoder | null = null;
  private opusDec: OpusDecoder | null = null;
  /** Opus packets not sent (simulated loss): sequence numbers modulo `lossEvery` === 0. */
  lossEvery = 0;
  /** Payload lengths received in the last tick. */
  lastLength = 0;
  /** Everything heard, at the codec's audio rate. */
  heard: number[] = [];
  /** Payload offsets seen in the last tick. */
  lastOffset = -1;

  constructor(
    codec: CodecName,
    public freq: number,
    public amp = 8000,
  ) {
    this.codec = codecId(codec);
  }

  get rate(): number {
    return this.codec === CODEC_G722 || this.codec === CODEC_OPUS ? 16000 : 8000;
  }

  /** Frees the phone's Opus states. */
  hangUp(): void {
    this.opusEnc?.destroy();
    this.opusDec?.destroy();
  }

  send(nowMs: number): void {
    const n = this.rate / 50;
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      pcm[i] = this.freq > 0 ? Math.round(this.amp * Math.sin(this.phase)) : 0;
      this.phase += (2 * Math.PI * this.freq) / this.rate;
    }
    if (this.codec === CODEC_OPUS) {
      this.opusEnc ??= new OpusEncoder({ sampleRate: 16000 });
      const packet = new Uint8Array(320);
      const len = this.opusEnc.encode(pcm, 0, packet, 0);
      const seq = this.seq++;
      if (this.lossEvery === 0 || seq % this.lossEvery !== 0) this.jb.put(seq & 0xffff, this.ts, 77, packet, 0, len, nowMs);
      this.ts += 960;
      return;
    }
    const payload = new Uint8Array(160);
    if (this.codec === CODEC_PCMU) encodeUlaw(pcm, 0, payload, 0, 160);
    else if (this.codec === CODEC_PCMA) encodeAlaw(pcm, 0, payload, 0, 160);
    else this.enc.encode(pcm, 0, 320, payload, 0);
    this.jb.put(this.seq++ & 0xffff, this.ts, 77, payload, 0, 160, nowMs);
    this.ts += 160;
  }

  receive(mixer: ConferenceMixer): void {
    const len = mixer.outLength[this.slot] as number;
    const off = mixer.outOffset[this.slot] as number;
    this.lastOffset = len > 0 ? off : -1;
    this.lastLength = len;
    if (len === 0) {
      for (let i = 0; i < this.rate / 50; i++) this.heard.push(0);
      return;
    }
    if (this.codec === CODEC_OPUS) {
      this.opusDec ??= new OpusDecoder({ sampleRate: 16000 });
      const out = new Int16Array(320);
      this.opusDec.decode(mixer.arena, off, len, out, 0);
      for (const v of out) this.heard.push(v);
    } else if (this.codec === CODEC_G722) {
      const out = new Int16Array(320);
      this.dec.decode(mixer.arena, off, len, out, 0);
      for (const v of out) this.heard.push(v);
    } else {
      const table = this.codec === CODEC_PCMU ? ULAW_DECODE : ALAW_DECODE;
      for (let i = 0; i < len; i++) this.heard.push(table[mixer.arena[off + i] as number] as number);
    }
  }

  /** Amplitude of `freq` in the last `ms` of what this phone heard. */
  level(freq: number, ms = 600): number {
    const n = Math.round((ms * this.rate) / 1000);
    return goertzelAmplitude(this.heard, this.heard.length - n, n, freq, this.rate);
  }
}

function meeting(options: ConferenceMixerOptions = {}) {
  const mixer = new ConferenceMixer({ mohSources: MOH, ...options });
  const phones: Phone[] = [];
  const add = (phone: Phone, slot: Omit<SlotOptions, "codec">) => {
    phone.slot = mixer.addSlot({ codec: phone.codec, input: phone.jb, ...slot });
    expect(phone.slot).toBeGreaterThanOrEqual(0);
    phones.push(phone);
    return phone;
  };
  let t = 0;
  const run = (ticks: number) => {
    for (let k = 0; k < ticks; k++, t += 20) {
      for (const p of phones) if (mixer.canBeHeard(p.slot) || p.freq > 0) p.send(t);
      mixer.tick();
      for (const p of phones) p.receive(mixer);
    }
  };
  return { mixer, add, run };
}

const HEARD = 2000; // an 8000-peak tone arrives at ~8000; leakage and noise stay far below
const NOT_HEARD = 150;

describe("ConferenceMixer: who hears whom", () => {
  test("host, participant, listener: talkers not themselves, nobody the listener", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const part = add(new Phone("PCMU", 1000), { role: "participant" });
    const listener = add(new Phone("PCMU", 1500), { role: "listener" });
    const taps: number[] = [];
    mixer.recordTap = (mix) => {
      for (const v of mix) taps.push(v);
    };
    run(60);
    expect(host.level(1000)).toBeGreaterThan(HEARD);
    expect(host.level(440)).toBeLessThan(NOT_HEARD);
    expect(host.level(1500)).toBeLessThan(NOT_HEARD);
    expect(part.level(440)).toBeGreaterThan(HEARD);
    expect(part.level(1000)).toBeLessThan(NOT_HEARD);
    expect(part.level(1500)).toBeLessThan(NOT_HEARD);
    expect(listener.level(440)).toBeGreaterThan(HEARD);
    expect(listener.level(1000)).toBeGreaterThan(HEARD);
    expect(listener.level(1500)).toBeLessThan(NOT_HEARD);
    expect(mixer.talkerCount).toBe(2);
    expect(mixer.isTalking(host.slot) && mixer.isTalking(part.slot)).toBe(true);
    const recorded = (f: number) => goertzelAmplitude(taps, taps.length - 9600, 9600, f, 16000);
    expect(recorded(440)).toBeGreaterThan(HEARD);
    expect(recorded(1000)).toBeGreaterThan(HEARD);
    expect(recorded(1500)).toBeLessThan(NOT_HEARD);
  });

  test("a muted participant is not heard; unmuting brings them back", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const part = add(new Phone("PCMU", 1000), { role: "participant", muted: true });
    const listener = add(new Phone("PCMU", 0), { role: "listener" });
    run(50);
    expect(host.level(1000)).toBeLessThan(NOT_HEARD);
    expect(listener.level(1000)).toBeLessThan(NOT_HEARD);
    expect(listener.level(440)).toBeGreaterThan(HEARD);
    expect(part.level(440)).toBeGreaterThan(HEARD);
    mixer.setMuted(part.slot, false);
    run(40);
    expect(host.level(1000)).toBeGreaterThan(HEARD);
    expect(listener.level(1000)).toBeGreaterThan(HEARD);
  });

  test("a held caller hears music on hold and is not heard", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const part = add(new Phone("PCMU", 1000), { role: "participant" });
    const held = add(new Phone("PCMU", 1500), { role: "participant", held: true });
    const held2 = add(new Phone("PCMA", 0), { role: "listener", held: true, moh: "beep" });
    run(50);
    expect(held.level(300)).toBeGreaterThan(HEARD); // the "default" test source
    expect(held.level(440)).toBeLessThan(NOT_HEARD);
    expect(held.level(1000)).toBeLessThan(NOT_HEARD);
    expect(held2.level(2500)).toBeGreaterThan(HEARD);
    expect(host.level(1500)).toBeLessThan(NOT_HEARD);
    expect(part.level(1500)).toBeLessThan(NOT_HEARD);
    mixer.setHeld(held.slot, false);
    run(40);
    expect(held.level(440)).toBeGreaterThan(HEARD);
    expect(host.level(1500)).toBeGreaterThan(HEARD);
  });

  test("a caller alone hears music when enabled, silence when not", () => {
    const { mixer, add, run } = meeting();
    const solo = add(new Phone("PCMU", 440), { role: "host" });
    run(30);
    expect(solo.level(300)).toBeGreaterThan(HEARD);
    mixer.mohEnabled = false;
    run(30);
    expect(solo.level(300, 400)).toBeLessThan(NOT_HEARD);
    expect(solo.level(440, 400)).toBeLessThan(NOT_HEARD);
  });

  test("waiting callers hear music; IVR callers hear only their prompt, then silence", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    add(new Phone("PCMU", 1000), { role: "participant" });
    const waiting = add(new Phone("PCMU", 0), { role: "participant", waiting: true });
    const ivr = add(new Phone("PCMU", 1500), { role: "participant", member: false });
    mixer.prompt(ivr.slot).enqueue(synthTone([700], 600, 8000, 0));
    run(20);
    expect(ivr.level(700, 300)).toBeGreaterThan(HEARD);
    expect(ivr.level(440, 300)).toBeLessThan(NOT_HEARD);
    run(30);
    expect(mixer.members).toBe(3);
    expect(waiting.level(300)).toBeGreaterThan(HEARD);
    expect(ivr.level(700, 300)).toBeLessThan(NOT_HEARD);
    expect(ivr.level(440, 300)).toBeLessThan(NOT_HEARD);
    expect(host.level(1500)).toBeLessThan(NOT_HEARD);
  });

  test("a prompt replaces the mix for that caller only and reports when it ends", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const part = add(new Phone("PCMU", 1000), { role: "participant" });
    run(20);
    mixer.prompt(part.slot).enqueue(synthTone([700], 400, 8000, 0));
    let done = -1;
    for (let k = 0; k < 25; k++) {
      run(1);
      for (let i = 0; i < mixer.eventCount; i++)
        if (mixer.eventKind[i] === MIXER_EVENT_PROMPT_DONE) done = mixer.eventSlot[i] as number;
      if (k === 15) {
        expect(part.level(700, 200)).toBeGreaterThan(HEARD);
        expect(part.level(440, 200)).toBeLessThan(NOT_HEARD);
      }
    }
    expect(done).toBe(part.slot);
    run(20);
    expect(part.level(440, 300)).toBeGreaterThan(HEARD);
    expect(host.level(1000, 300)).toBeGreaterThan(HEARD); // still heard while hearing a prompt
  });

  test("entry tone goes to every member, talkers included", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const listener = add(new Phone("PCMA", 0), { role: "listener" });
    add(new Phone("PCMU", 1000), { role: "participant" });
    run(20);
    mixer.playToMeeting(ENTRY_TONE);
    run(14);
    expect(host.level(880, 160)).toBeGreaterThan(2000);
    expect(listener.level(880, 160)).toBeGreaterThan(2000);
  });

  test("non-talkers share one payload per codec; talkers get their own", () => {
    const { mixer, add, run } = meeting();
    const host = add(new Phone("PCMU", 440), { role: "host" });
    const part = add(new Phone("PCMU", 0), { role: "participant" });
    const l1 = add(new Phone("PCMU", 0), { role: "listener" });
    const l2 = add(new Phone("PCMU", 0), { role: "listener" });
    const a1 = add(new Phone("PCMA", 0), { role: "listener" });
    const a2 = add(new Phone("PCMA", 0), { role: "participant" });
    run(30);
    expect(part.lastOffset).toBe(l1.lastOffset);
    expect(l1.lastOffset).toBe(l2.lastOffset);
    expect(a1.lastOffset).toBe(a2.lastOffset);
    expect(a1.lastOffset).not.toBe(l1.lastOffset);
    expect(host.lastOffset).not.toBe(l1.lastOffset);
    expect(a1.level(440)).toBeGreaterThan(HEARD);
  });

  test("G.722 callers talk and listen in wideband alongside G.711", () => {
    const { add, run } = meeting();
    const wide = add(new Phone("G722", 6000), { role: "host" });
    const wide2 = add(new Phone("G722", 0), { role: "listener" });
    const narrow = add(new Phone("PCMU", 1000), { role: "participant" });
    run(60);
    expect(wide.level(1000)).toBeGreaterThan(HEARD);
    expect(wide2.level(1000)).toBeGreaterThan(HEARD);
    expect(wide2.level(6000)).toBeGreaterThan(HEARD); // 6 kHz only survives a wideband path
    expect(wide.level(6000)).toBeLessThan(NOT_HEARD * 2);
    expect(narrow.level(6000)).toBeLessThan(NOT_HEARD);
  });

  test("at most maxTalkers are summed, the loudest", () => {
    const { mixer, add, run } = meeting({ maxTalkers: 2 });
    const loud1 = add(new Phone("PCMU", 500, 9000), { role: "host" });
    add(new Phone("PCMU", 700, 8000), { role: "participant" });
    add(new Phone("PCMU", 1100, 1500), { role: "participant" });
    const listener = add(new Phone("PCMU", 0), { role: "listener" });
    run(40);
    expect(mixer.talkerCount).toBe(2);
    expect(listener.level(500)).toBeGreaterThan(HEARD);
    expect(listener.level(700)).toBeGreaterThan(HEARD);
    expect(listener.level(1100)).toBeLessThan(NOT_HEARD);
    expect(loud1.level(700)).toBeGreaterThan(HEARD);
  });

  test("quiet background below the threshold is not mixed", () => {
    const { mixer, add, run } = meeting();
    add(new Phone("PCMU", 440, 100), { role: "host" });
    const listener = add(new Phone("PCMU", 0), { role: "listener" });
    run(30);
    expect(mixer.talkerCount).toBe(0);
    expect(listener.level(440)).toBeLessThan(20);
  });

  test("per-slot gain scales what others hear", () => {
    const { mixer, add, run } = meeting();
    const a = add(new Phone("PCMU", 440, 4000), { role: "host" });
    const listener = add(new Phone("PCMU", 0), { role: "listener" });
    run(30);
    const before = listener.level(440);
    mixer.setGain(a.slot, 0.5);
    run(30);
    expect(listener.level(440) / before).toBeCloseTo(0.5, 1);
  });

  test("in-band DTMF from a caller becomes an event", () => {
    const { mixer, add, run } = meeting();
    const phone = add(new Phone("PCMU", 0), { role: "participant", member: false, inbandDtmf: true });
    const keys: string[] = [];
    // Key 5: 770 + 1336 Hz; a Phone sends one tone, so feed the pair by hand.
    let seq = 1;
    let ts = 0;
    let t = 0;
    for (let k = 0; k < 30; k++, t += 20) {
      const pcm = new Int16Array(160);
      if (k >= 5 && k < 10)
        for (let i = 0; i < 160; i++) {
          const x = (k * 160 + i) / 8000;
          pcm[i] = Math.round(5000 * Math.sin(2 * Math.PI * 770 * x) + 5000 * Math.sin(2 * Math.PI * 1336 * x));
        }
      const payload = new Uint8Array(160);
      encodeUlaw(pcm, 0, payload, 0, 160);
      phone.jb.put(seq++, ts, 9, payload, 0, 160, t);
      ts += 160;
      mixer.tick();
      for (let i = 0; i < mixer.eventCount; i++)
        if (mixer.eventKind[i] === MIXER_EVENT_DIGIT) keys.push(dtmfKey(mixer.eventValue[i] as number));
    }
    expect(keys).toEqual(["5"]);
    run(1);
  });

  test("slots are reused after removal and capacity grows on demand", () => {
    const mixer = new ConferenceMixer({ mohSources: MOH, initialCapacity: 2, maxCapacity: 4 });
    const a = mixer.addSlot({ codec: "PCMU" });
    const b = mixer.addSlot({ codec: "PCMA" });
    const c = mixer.addSlot({ codec: "G722" });
    const d = mixer.addSlot({ codec: "PCMU" });
    expect([a, b, c, d]).toEqual([0, 1, 2, 3]);
    expect(mixer.addSlot({ codec: "PCMU" })).toBe(-1);
    expect(mixer.addSlot({ codec: "SPEEX" as CodecName })).toBe(-1);
    mixer.removeSlot(b);
    mixer.removeSlot(b);
    expect(mixer.activeCount).toBe(3);
    expect(mixer.members).toBe(3);
    expect(mixer.addSlot({ codec: "PCMU" })).toBe(b);
    mixer.tick();
    for (let i = 0; i < mixer.activeCount; i++) expect(mixer.outLength[mixer.activeList[i] as number]).toBe(160);
  });

  test("send disabled produces no payload", () => {
    const mixer = new ConferenceMixer({ mohSources: MOH });
    const s = mixer.addSlot({ codec: "PCMU", send: false });
    mixer.tick();
    expect(mixer.outLength[s]).toBe(0);
    mixer.setSend(s, true);
    mixer.tick();
    expect(mixer.outLength[s]).toBe(160);
  });
});

describe("ConferenceMixer: no allocation per frame", () => {
  test("receive, mix and send paths keep the heap flat over 3,000 ticks of 20 callers", async () => {
    const { heapStats } = await import("bun:jsc");
    const { RtpSender, createRtpHeader, parseRtp } = await import("./rtp.ts");
    const mixer = new ConferenceMixer({ mohSources: MOH, initialCapacity: 64 });
    const n = 20;
    const jbs: JitterBuffer[] = [];
    const txs: InstanceType<typeof RtpSender>[] = [];
    for (let i = 0; i < n; i++) {
      const jb = new JitterBuffer();
      const codec = i % 3;
      const role = i < 4 ? "participant" : i % 2 ? "listener" : "participant";
      mixer.addSlot({ codec, role, input: jb, held: i === 7, inbandDtmf: i === 9 && codec !== 2 });
      jbs.push(jb);
      txs.push(new RtpSender({ payloadType: [0, 8, 9][codec] as number }));
    }
    mixer.prompt(5).enqueue(synthTone([700], 100_000, 6000));
    const packet = new Uint8Array(12 + 160);
    const header = createRtpHeader();
    const tone = new Uint8Array(160);
    for (let i = 0; i < 160; i++) tone[i] = (i * 37) & 0xff;
    const silent = new Uint8Array(160).fill(0xff);
    let k = 0;
    const run = (ticks: number) => {
      for (let t = 0; t < ticks; t++, k++) {
        for (let i = 0; i < n; i++) {
          // Receive path: an RTP packet is parsed and queued.
          const tx = txs[i] as InstanceType<typeof RtpSender>;
          tx.writeHeader(packet, 0);
          const src = i < 4 ? tone : silent;
          for (let j = 0; j < 160; j++) packet[12 + j] = src[j] as number;
          if (parseRtp(packet, 0, packet.length, header))
            (jbs[i] as JitterBuffer).put(
              header.sequence,
              header.timestamp,
              header.ssrc,
              packet,
              header.payloadOffset,
              header.payloadLength,
              k * 20,
            );
        }
        if (k % 500 === 0) mixer.playToMeeting(ENTRY_TONE);
        mixer.tick();
      }
    };
    run(2000);
    Bun.gc(true);
    const before = heapStats().objectCount;
    run(3000);
    Bun.gc(true);
    const after = heapStats().objectCount;
    // Anything allocated per frame would show as tens of thousands of objects here.
    expect(after - before).toBeLessThan(1000);
    expect(mixer.talkerCount).toBeGreaterThan(0);
    // 5,000 ticks of 20 callers: about 5 s on a loaded 2-core machine.
  }, 30_000);
});

describe("ConferenceMixer: Opus callers among G.711 and G.722 ones", () => {
  test("each hears the others' tones at 16 kHz, not itself; a listener hears all three", () => {
    const { mixer, add, run } = meeting();
    const pcmu = add(new Phone("PCMU", 440), { role: "host" });
    const opus = add(new Phone("OPUS", 1500), { role: "participant" });
    const g722 = add(new Phone("G722", 3000), { role: "participant" });
    const pcma = add(new Phone("PCMA", 1000), { role: "participant" });
    const opusListener = add(new Phone("OPUS", 0), { role: "listener" });
    run(80);
    expect(mixer.talkerCount).toBe(4);
    // The Opus talker hears the narrowband tones and the G.722 one above 2 kHz (wideband end to end).
    expect(opus.level(440)).toBeGreaterThan(HEARD);
    expect(opus.level(1000)).toBeGreaterThan(HEARD);
    expect(opus.level(3000)).toBeGreaterThan(HEARD);
    expect(opus.level(1500)).toBeLessThan(NOT_HEARD);
    expect(pcmu.level(1500)).toBeGreaterThan(HEARD);
    expect(pcma.level(1500)).toBeGreaterThan(HEARD);
    expect(g722.level(1500)).toBeGreaterThan(HEARD);
    for (const f of [440, 1000, 1500, 3000]) expect(opusListener.level(f)).toBeGreaterThan(HEARD);
    // Opus packets vary in size; G.711 ones are 160 bytes.
    expect(opus.lastLength).toBeGreaterThan(10);
    expect(opus.lastLength).not.toBe(160);
    for (const p of [pcmu, opus, g722, pcma, opusListener]) p.hangUp();
    mixer.close();
  });

  test("Opus listeners share one packet per tick (encoded once per mix), talkers get their own", () => {
    const { mixer, add, run } = meeting();
    const talker = add(new Phone("OPUS", 700), { role: "host" });
    const other = add(new Phone("PCMU", 440), { role: "participant" });
    const a = add(new Phone("OPUS", 0), { role: "listener" });
    const b = add(new Phone("OPUS", 0), { role: "listener" });
    run(30);
    expect(a.lastOffset).toBeGreaterThanOrEqual(0);
    expect(b.lastOffset).toBe(a.lastOffset);
    expect(b.lastLength).toBe(a.lastLength);
    expect(talker.lastOffset).not.toBe(a.lastOffset);
    expect(a.level(700)).toBeGreaterThan(HEARD);
    for (const p of [talker, other, a, b]) p.hangUp();
    mixer.close();
  });

  test("a lossy Opus talker (every 5th packet lost) is concealed by its decoder: its tone carries on", () => {
    const { mixer, add, run } = meeting();
    const talker = add(new Phone("OPUS", 1200), { role: "host" });
    talker.lossEvery = 5;
    const listener = add(new Phone("PCMU", 0), { role: "listener" });
    run(100);
    expect(talker.jb.lost).toBeGreaterThan(10);
    expect(mixer.isTalking(talker.slot) || mixer.talkerCount === 1).toBe(true);
    // The tone is in every 20 ms window, lost ones included (PLC, not a gap of silence).
    const n = listener.heard.length;
    let weakest = Number.POSITIVE_INFINITY;
    for (let w = 0; w < 40; w++)
      weakest = Math.min(weakest, goertzelAmplitude(listener.heard, n - (w + 1) * 160, 160, 1200, 8000));
    expect(weakest).toBeGreaterThan(1000);
    expect(listener.level(1200)).toBeGreaterThan(HEARD);
    talker.hangUp();
    listener.hangUp();
    mixer.close();
  });

  test("native states: made per Opus slot, freed at removeSlot and close; a codec change frees them too", () => {
    const base = opusLiveStates();
    const mixer = new ConferenceMixer({ mohSources: MOH, initialCapacity: 4 });
    const slots: number[] = [];
    for (let i = 0; i < 40; i++) slots.push(mixer.addSlot({ codec: "OPUS", role: "listener" }));
    expect(opusLiveStates() - base).toBe(80);
    mixer.tick();
    for (const s of slots.slice(0, 39)) mixer.removeSlot(s);
    // One caller (decoder + encoder) and the mix's encoder remain.
    expect(opusLiveStates() - base).toBe(3);
    expect(mixer.setCodec(slots[39] as number, "PCMU")).toBe(true);
    expect(opusLiveStates() - base).toBe(1);
    mixer.close();
    mixer.close();
    expect(opusLiveStates()).toBe(base);
  });

  test("no allocation per frame with Opus talkers and listeners", async () => {
    const { heapStats } = await import("bun:jsc");
    const { mixer, add, run } = meeting();
    const phones = [
      add(new Phone("OPUS", 500), { role: "host" }),
      add(new Phone("OPUS", 900), { role: "participant" }),
      add(new Phone("PCMU", 1300), { role: "participant" }),
    ];
    const silent = new Uint8Array(160).fill(0xff);
    const jbs: JitterBuffer[] = [];
    for (let i = 0; i < 6; i++) {
      const jb = new JitterBuffer();
      jbs.push(jb);
      mixer.addSlot({ codec: i % 2 ? "OPUS" : "PCMU", role: "listener", input: jb });
    }
    run(50);
    // Ticks alone (the phones' own encoding allocates): packets are fed straight to the buffers.
    const frames = phones.map((p) => {
      const packet = new Uint8Array(320);
      const enc = new OpusEncoder();
      const pcm = new Int16Array(320);
      for (let i = 0; i < 320; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * p.freq * i) / 16000));
      const len = p.codec === CODEC_OPUS ? enc.encode(pcm, 0, packet, 0) : 160;
      enc.destroy();
      return { packet, len };
    });
    let seq = 0;
    const tick = (n: number) => {
      for (let t = 0; t < n; t++, seq++) {
        for (let i = 0; i < phones.length; i++) {
          const f = frames[i] as { packet: Uint8Array; len: number };
          // Every 9th packet lost: concealment is on the path too.
          if (seq % 9 !== 4)
            (phones[i] as Phone).jb.put((5000 + seq) & 0xffff, seq * 960, 99, f.packet, 0, f.len, 10_000 + seq * 20);
        }
        for (const jb of jbs) jb.put(seq & 0xffff, seq * 160, 5, silent, 0, 160, 10_000 + seq * 20);
        mixer.tick();
      }
    };
    tick(500);
    Bun.gc(true);
    const before = heapStats().objectCount;
    tick(2000);
    Bun.gc(true);
    expect(heapStats().objectCount - before).toBeLessThan(500);
    expect(mixer.talkerCount).toBe(3);
    for (const p of phones) p.hangUp();
    mixer.close();
  }, 30_000);
});
